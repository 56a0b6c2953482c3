"""CycloneDX JSON SBOM (`sbom.cdx.json`): schema validation for spec 1.4-1.6 and component parsing.

Validation checks the document against the CycloneDX JSON schemas cyclonedx-python-lib ships,
with jsonschema-rs's compiled Draft 7 validator, formats included. Its registry holds the SPDX,
JSF and cryptography sub-schemas locally and retrieves nothing else (``offline``), so
validation never reaches the network (tests/security check it with sockets disabled). The
library's own validator (Python jsonschema) checks each ``iri-reference`` with an Earley
parser, about 0.1 s a URL: an SBOM of 190 components took 27 s to validate, and a hostile
16 MB one could hold the stage for hours; jsonschema-rs reads that one in a millisecond.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import jsonschema_rs
from cyclonedx.schema import SchemaVersion
from cyclonedx.schema._res import BOM_JSON, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON
from packageurl import PackageURL, ValidationSeverity
from rfc3339_validator import validate_rfc3339

from certification.security.errors import (
    SbomControlCharacter,
    SbomInvalidJson,
    SbomNotCycloneDx,
    SbomSchemaInvalid,
    SbomTooLarge,
    SbomTooManyComponents,
    SbomUnsupportedSpecVersion,
)
from edgeplug.text import (
    holds_lone_surrogate,
    json_document,
    may_hold_lone_surrogate,
    not_one_line,
    shortened,
)

SUPPORTED_SPEC_VERSIONS: Mapping[str, SchemaVersion] = {
    "1.4": SchemaVersion.V1_4,
    "1.5": SchemaVersion.V1_5,
    "1.6": SchemaVersion.V1_6,
}
MAX_SBOM_BYTES = 16 * 1024 * 1024
MAX_COMPONENTS = 50_000
MAX_REPORTED_SCHEMA_ERRORS = 20
# Schema messages quote the offending value, which can be megabytes of vendor input.
_MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class SbomComponent:
    name: str
    version: str | None
    purl: str | None
    type: str = "library"
    bom_ref: str | None = None
    # SPDX ids and SPDX expressions as written; free-text license names kept apart.
    license_expressions: tuple[str, ...] = ()
    license_names: tuple[str, ...] = ()
    package_url: PackageURL | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ComponentIssue:
    """Something about one component that the scan could not check or that the policy requires."""

    code: str
    component: str
    version: str | None
    purl: str | None
    detail: str
    blocking: bool = False


@dataclass(frozen=True)
class Sbom:
    spec_version: str
    serial_number: str | None
    components: tuple[SbomComponent, ...]
    # Purl problems found while parsing; the policy decides whether they block.
    issues: tuple[ComponentIssue, ...] = ()


# Where the CycloneDX schemas point their $refs, and the schema each names.
_SUBSCHEMAS = {
    "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json": SPDX_JSON,
    "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json": JSF,
    "http://cyclonedx.org/schema/cryptography-defs.SNAPSHOT.schema.json": CRYPTOGRAPHY_DEFS,
}


# The formats the CycloneDX schemas use that jsonschema-rs is not left to judge alone: these
# keep the verdicts the library's validator (Python jsonschema) gave, which certified SBOMs
# were checked by. ``iri-reference`` is jsonschema-rs's own (RFC 3987, as before).
_FORMATS = {
    "idn-email": lambda text: "@" in text,
    "date-time": lambda text: bool(validate_rfc3339(text.upper())),
}


@dataclass(frozen=True)
class _Validators:
    document: jsonschema_rs.Draft7Validator
    component: jsonschema_rs.Draft7Validator  # one entry of ``components``


@functools.lru_cache(maxsize=len(SUPPORTED_SPEC_VERSIONS))
def _validators(version: SchemaVersion) -> _Validators:
    # Building a validator loads and compiles the schema; one per version is plenty.
    schema = _load_schema(BOM_JSON[version])
    registry = jsonschema_rs.Registry(
        [(uri, _load_schema(path)) for uri, path in _SUBSCHEMAS.items()]
        + [(schema["$id"], schema)],
        retriever=_retrieve_nothing,
    )
    options = {"registry": registry, "validate_formats": True, "formats": _FORMATS}

    def validator(of: dict[str, Any]) -> jsonschema_rs.Draft7Validator:
        return jsonschema_rs.Draft7Validator(of, offline=True, **options)

    return _Validators(
        document=validator(schema),
        component=validator({"$ref": f"{schema['$id']}#/definitions/component"}),
    )


def _retrieve_nothing(uri: str) -> dict[str, Any]:
    raise LookupError(f"{uri} is not among the local CycloneDX schemas; nothing is downloaded")


def _load_schema(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as schema:
        return json.load(schema)


def _decode(data: bytes, max_bytes: int) -> dict[str, Any]:
    if len(data) > max_bytes:
        raise SbomTooLarge(f"SBOM is {len(data)} bytes; the limit is {max_bytes}")
    try:
        document = json_document(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SbomInvalidJson(f"SBOM is not UTF-8 JSON: {exc}"[:_MAX_ERROR_CHARS]) from exc
    if not isinstance(document, dict):
        raise SbomInvalidJson("SBOM must be a JSON object")
    if may_hold_lone_surrogate(data) and holds_lone_surrogate(document):
        raise SbomInvalidJson(
            "SBOM holds a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair), "
            "which is not a character"
        )
    return document


def _reject_non_cyclonedx(document: Mapping[str, Any]) -> None:
    if document.get("bomFormat") != "CycloneDX":
        raise SbomNotCycloneDx('SBOM must be CycloneDX JSON ("bomFormat": "CycloneDX")')


def _schema_version(document: Mapping[str, Any]) -> tuple[str, SchemaVersion]:
    spec = document.get("specVersion")
    supported = ", ".join(SUPPORTED_SPEC_VERSIONS)
    if not isinstance(spec, str) or spec not in SUPPORTED_SPEC_VERSIONS:
        shown = "missing" if spec is None else repr(spec)[:40]
        raise SbomUnsupportedSpecVersion(
            f"CycloneDX specVersion {shown} is not supported; use one of {supported}"
        )
    return spec, SUPPORTED_SPEC_VERSIONS[spec]


def _describe(error: jsonschema_rs.ValidationError, within: tuple = ()) -> str:
    path = "/".join(map(str, (*within, *error.instance_path)))
    return f"{path or '(root)'}: {shortened(error.message, _MAX_ERROR_CHARS)}"


def _schema_errors(document: dict[str, Any], version: SchemaVersion) -> list[str]:
    """Up to ``MAX_REPORTED_SCHEMA_ERRORS`` described errors; none when the document is valid.
    Each invalid component gives its first error (so a vendor sees every broken component at
    once), else the document gives its first: an error is built only for what is reported,
    never for every fault of a hostile document."""
    validators = _validators(version)
    if validators.document.is_valid(document):
        return []
    described: list[str] = []
    components = document.get("components")
    for index, component in enumerate(components if isinstance(components, list) else ()):
        try:
            validators.component.validate(component)
        except jsonschema_rs.ValidationError as error:
            described.append(_describe(error, ("components", index)))
            if len(described) == MAX_REPORTED_SCHEMA_ERRORS:
                break
    if not described:
        try:
            validators.document.validate(document)
        except jsonschema_rs.ValidationError as error:
            described.append(_describe(error))
    return described


def _validate_schema(document: dict[str, Any], version: SchemaVersion, spec: str) -> None:
    try:
        described = _schema_errors(document, version)
    except ValueError as exc:  # what the validator cannot read: nesting past its 255 levels
        raise SbomInvalidJson(f"SBOM cannot be validated: {exc}"[:_MAX_ERROR_CHARS]) from exc
    if not described:
        return
    raise SbomSchemaInvalid(
        f"SBOM does not match the CycloneDX {spec} JSON schema: {described[0]}",
        tuple(described),
    )


def _walk(components: Any) -> Iterator[Mapping[str, Any]]:
    # Nested components (an assembly's parts) are components too; iterative to bound the stack.
    stack = list(reversed(components or []))
    while stack:
        component = stack.pop()
        yield component
        stack.extend(reversed(component.get("components") or []))


def _licenses(component: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    expressions: list[str] = []
    names: list[str] = []
    for choice in component.get("licenses") or []:
        if "expression" in choice:
            expressions.append(choice["expression"])
            continue
        license_ = choice.get("license") or {}
        if license_.get("id"):
            expressions.append(license_["id"])
        elif license_.get("name"):
            names.append(license_["name"])
    return tuple(expressions), tuple(names)


def _purl_issue(component: SbomComponent, code: str, detail: str) -> ComponentIssue:
    return ComponentIssue(code, component.name, component.version, component.purl, detail)


def _parse_purl(component: SbomComponent) -> tuple[PackageURL | None, ComponentIssue | None]:
    if not component.purl:
        return None, _purl_issue(component, "component_missing_purl", "component has no purl")
    try:
        purl = PackageURL.from_string(component.purl)
    except ValueError as exc:
        return None, _purl_issue(component, "invalid_purl", str(exc)[:_MAX_ERROR_CHARS])
    problems = [m.message for m in purl.validate() if m.severity == ValidationSeverity.ERROR]
    if problems:
        return None, _purl_issue(component, "invalid_purl", "; ".join(problems)[:_MAX_ERROR_CHARS])
    return purl, None


def _components(
    document: Mapping[str, Any],
) -> tuple[tuple[SbomComponent, ...], tuple[ComponentIssue, ...]]:
    components: list[SbomComponent] = []
    issues: list[ComponentIssue] = []
    for raw in _walk(document.get("components")):
        if len(components) >= MAX_COMPONENTS:
            raise SbomTooManyComponents(f"SBOM lists more than {MAX_COMPONENTS} components")
        expressions, names = _licenses(raw)
        component = SbomComponent(
            name=raw["name"],
            version=raw.get("version") or None,
            purl=raw.get("purl") or None,
            type=raw.get("type", "library"),
            bom_ref=raw.get("bom-ref"),
            license_expressions=expressions,
            license_names=names,
        )
        purl, issue = _parse_purl(component)
        _reject_control_characters(component, purl)
        if issue is not None:
            issues.append(issue)
        components.append(replace(component, package_url=purl) if purl else component)
    return tuple(components), tuple(issues)


def _reject_control_characters(component: SbomComponent, purl: PackageURL | None) -> None:
    """A name, version or purl is printed as one line of what reviewers and vendors read (the
    stage's logs, the re-scan's emails): a line break in one would write lines of its own
    there. The purl as written and as decoded (``%0A`` is a line feed; its version is the one
    matched and printed)."""
    decoded = (purl.namespace, purl.name, purl.version, purl.subpath) if purl else ()
    for label, text in (
        ("name", component.name),
        ("version", component.version),
        ("purl", component.purl),
        *(("purl", part) for part in decoded),
    ):
        if text and (refusal := not_one_line(text)):
            raise SbomControlCharacter(
                f"component {shortened(repr(component.name), 80)}: its {label} {refusal}"
            )


def parse_sbom(data: bytes, *, max_bytes: int = MAX_SBOM_BYTES) -> Sbom:
    """Validate `sbom.cdx.json` bytes and return its components.

    Raises an SbomError subclass (each with a stable `code`) when the document is not a
    schema-valid CycloneDX 1.4-1.6 JSON SBOM. Components without a valid purl do not raise: they
    come back in `Sbom.issues` so a vendor sees every offending component at once.
    """
    document = _decode(data, max_bytes)
    _reject_non_cyclonedx(document)
    spec, version = _schema_version(document)
    _validate_schema(document, version, spec)
    components, issues = _components(document)
    serial = document.get("serialNumber")
    return Sbom(spec, serial if isinstance(serial, str) else None, components, issues)
