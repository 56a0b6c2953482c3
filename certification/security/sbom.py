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
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import jsonschema_rs
from cyclonedx.schema import SchemaVersion
from cyclonedx.schema._res import BOM_JSON, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON
from packageurl import PackageURL, ValidationSeverity

from certification.security.errors import (
    SbomInvalidJson,
    SbomNotCycloneDx,
    SbomSchemaInvalid,
    SbomTooLarge,
    SbomTooManyComponents,
    SbomUnsupportedSpecVersion,
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


@functools.lru_cache(maxsize=len(SUPPORTED_SPEC_VERSIONS))
def _validator(version: SchemaVersion) -> jsonschema_rs.Draft7Validator:
    # Building a validator loads and compiles the schema; one per version is plenty.
    registry = jsonschema_rs.Registry(
        [(uri, _load_schema(path)) for uri, path in _SUBSCHEMAS.items()],
        retriever=_retrieve_nothing,
    )
    return jsonschema_rs.Draft7Validator(
        _load_schema(BOM_JSON[version]), registry=registry, validate_formats=True, offline=True
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
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SbomInvalidJson("SBOM is not UTF-8 JSON") from exc
    if not isinstance(document, dict):
        raise SbomInvalidJson("SBOM must be a JSON object")
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


def _describe(error: jsonschema_rs.ValidationError) -> str:
    path = "/".join(str(part) for part in error.instance_path) or "(root)"
    message = error.message
    if len(message) > _MAX_ERROR_CHARS:
        message = message[:_MAX_ERROR_CHARS] + "..."
    return f"{path}: {message}"


def _validate_schema(document: dict[str, Any], version: SchemaVersion, spec: str) -> None:
    errors = _validator(version).iter_errors(document)
    described = [_describe(error) for error in itertools.islice(errors, MAX_REPORTED_SCHEMA_ERRORS)]
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
        if issue is not None:
            issues.append(issue)
        components.append(replace(component, package_url=purl) if purl else component)
    return tuple(components), tuple(issues)


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
