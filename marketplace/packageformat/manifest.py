"""Parsing and validating ``manifest.json``: the one validator the server and the CLI share.

Checks run in a fixed order so a manifest with several faults always gets the same code:
JSON syntax, shape limits (depth, string length), ``schema_version``, SemVer, the JSON Schema,
then cross-field consistency that a schema cannot express.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Iterator
from typing import Any

from edgeplug.text import (
    DuplicateKey,
    holds_lone_surrogate,
    json_document,
)

from .errors import (
    DuplicateJsonKey,
    InvalidJson,
    InvalidVersion,
    ManifestInconsistent,
    ManifestNotObject,
    ManifestNotUtf8,
    ManifestTooDeep,
    ManifestTooLarge,
    NulCharacter,
    ReferencedFileMissing,
    SchemaViolation,
    StringTooLong,
    SurrogateCharacter,
    UnsupportedSchemaVersion,
    WrongFileExtension,
)
from .limits import DEFAULT_LIMITS, Limits
from .schema import manifest_is_valid, manifest_validator

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
MAX_VERSION_LENGTH = 64
# semver.org's recommended regex, with [0-9] instead of \d so no non-ASCII digit sneaks in.
SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
# (JSON path of the file name, required suffix) for every file a manifest may reference.
REFERENCED_FILES = (
    (("model", "file"), ".tflite"),
    (("firmware", "file"), ".elf"),
    (("sbom", "file"), ".cdx.json"),
)
_DTYPE_BOUNDS = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}
_MAX_DETAIL = 300

Manifest = dict[str, Any]


def parse_manifest(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Manifest:
    """Decode manifest bytes into a JSON object, refusing anything ambiguous or oversized.

    Refused: more than ``max_manifest_bytes``, non-UTF-8, invalid JSON (including NaN,
    Infinity and numbers, integers too, that overflow a double), duplicate keys, nesting too
    deep for the parser, and a top level that is not an object. Schema rules are
    ``validate_manifest``'s.
    """
    if len(data) > limits.max_manifest_bytes:
        raise ManifestTooLarge(
            f"manifest.json is {len(data)} bytes, the cap is {limits.max_manifest_bytes}",
            entry=MANIFEST_NAME,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestNotUtf8("manifest.json is not valid UTF-8", entry=MANIFEST_NAME) from exc
    try:
        value = json_document(text)
    except RecursionError as exc:
        raise ManifestTooDeep("manifest.json is nested too deeply", entry=MANIFEST_NAME) from exc
    except DuplicateKey as exc:
        # Two parsers that keep different copies of a duplicated key would see different
        # manifests; refusing duplicates means every reader agrees on one.
        raise DuplicateJsonKey(
            f"key {_short(exc.key)} appears twice in one object", entry=MANIFEST_NAME
        ) from exc
    except ValueError as exc:
        raise InvalidJson(f"manifest.json is not valid JSON: {exc}", entry=MANIFEST_NAME) from exc
    if not isinstance(value, dict):
        raise ManifestNotObject("manifest.json must hold a JSON object", entry=MANIFEST_NAME)
    return value


def validate_manifest(manifest: Any, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise the first ``PackageError`` the manifest earns, or return if it is valid."""
    if not isinstance(manifest, dict):
        raise ManifestNotObject("the manifest must be a JSON object", path="$")
    for check in _MANIFEST_CHECKS:
        check(manifest, limits)


def check_referenced_files(manifest: Manifest, entry_names: Collection[str]) -> None:
    """Raise ``ReferencedFileMissing`` unless each file the manifest names is in the archive."""
    for keys, _suffix in REFERENCED_FILES:
        name = _lookup(manifest, keys)
        if name is not None and name not in entry_names:
            raise ReferencedFileMissing(
                f"{_json_path(keys)} names {name!r}, which is not in the archive",
                path=_json_path(keys),
            )


def _reject_too_deep_or_long_strings(manifest: Manifest, limits: Limits) -> None:
    # Iterative on purpose: the manifest may come from a caller other than parse_manifest.
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(manifest, ())]
    while stack:
        value, keys = stack.pop()
        if len(keys) > limits.max_json_depth:
            raise ManifestTooDeep(
                f"nesting deeper than {limits.max_json_depth} levels", path=_json_path(keys)
            )
        if isinstance(value, str):
            _check_string(value, keys, limits)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_string(key, keys, limits)
                stack.append((item, (*keys, key)))
        elif isinstance(value, list):
            stack.extend((item, (*keys, index)) for index, item in enumerate(value))


def _check_string(value: str, keys: tuple[str | int, ...], limits: Limits) -> None:
    if "\x00" in value:
        # Valid JSON, but no database text column can hold it and no manifest needs it.
        raise NulCharacter("a string contains the NUL character (\\u0000)", path=_json_path(keys))
    if holds_lone_surrogate(value):
        # JSON can escape half a UTF-16 pair (\ud800 alone): no character, no UTF-8 text.
        raise SurrogateCharacter(
            "a string contains a lone surrogate (\\ud800 to \\udfff)", path=_json_path(keys)
        )
    if len(value) > limits.max_string_length:
        raise StringTooLong(
            f"a string of {len(value)} characters exceeds the cap of {limits.max_string_length}",
            path=_json_path(keys),
        )


def _reject_unsupported_schema_version(manifest: Manifest, limits: Limits) -> None:
    if "schema_version" not in manifest:
        return  # the schema reports it as a missing required property
    value = manifest["schema_version"]
    # type() rather than isinstance(): True == 1 in Python but is not the number 1 in JSON.
    if type(value) is not int or value != SCHEMA_VERSION:
        raise UnsupportedSchemaVersion(
            f"schema_version {_short(value)} is not supported; this server reads "
            f"schema_version {SCHEMA_VERSION}",
            path="$.schema_version",
        )


def _reject_bad_semver(manifest: Manifest, limits: Limits) -> None:
    version = manifest.get("version")
    if not isinstance(version, str):
        return  # missing or not a string: a schema violation
    if len(version) > MAX_VERSION_LENGTH or not SEMVER.fullmatch(version):
        raise InvalidVersion(
            f"version {_short(version)} is not a SemVer 2.0 version such as 1.4.0 or "
            f"2.0.0-rc.1 (at most {MAX_VERSION_LENGTH} characters)",
            path="$.version",
        )


def _reject_schema_violations(manifest: Manifest, limits: Limits) -> None:
    if manifest_is_valid()(manifest):
        return
    from jsonschema.exceptions import best_match  # lazily, as in manifest_validator()

    error = best_match(manifest_validator().iter_errors(manifest))
    if error is not None:
        raise SchemaViolation(_short_text(error.message), path=error.json_path)


def _reject_wrong_file_extensions(manifest: Manifest, limits: Limits) -> None:
    for keys, suffix in REFERENCED_FILES:
        name = _lookup(manifest, keys)
        if name is not None and not name.endswith(suffix):
            raise WrongFileExtension(
                f"{_json_path(keys)} must name a {suffix} file, not {_short(name)}",
                path=_json_path(keys),
            )


def _reject_inverted_ranges(manifest: Manifest, limits: Limits) -> None:
    for keys, low, high in _declared_ranges(manifest):
        if low > high:
            raise ManifestInconsistent(
                f"minimum {low} is greater than maximum {high}", path=_json_path(keys)
            )


def _reject_ranges_outside_dtype(manifest: Manifest, limits: Limits) -> None:
    for side in ("input", "output"):
        tensor = manifest["model"][side]
        bounds = _DTYPE_BOUNDS.get(tensor["dtype"])
        if bounds is None or "range" not in tensor:
            continue
        low, high = tensor["range"]
        if low < bounds[0] or high > bounds[1]:
            raise ManifestInconsistent(
                f"range [{low}, {high}] does not fit {tensor['dtype']} [{bounds[0]}, {bounds[1]}]",
                path=f"$.model.{side}.range",
            )
        # Its values are raw integers: a fractional bound is read rounded inward (as
        # certification draws inputs), and an input range left with none holds no input to
        # draw. The output's range no stage reads: packages certified with one such keep
        # reading back (rescans, load_stored_package), as they did before this rule.
        if side == "input" and math.ceil(low) > math.floor(high):
            raise ManifestInconsistent(
                f"range [{low}, {high}] holds no integer, and a {tensor['dtype']} tensor's "
                "values are raw integers",
                path=f"$.model.{side}.range",
            )


def _reject_indices_outside_tensors(manifest: Manifest, limits: Limits) -> None:
    sizes = {side: math.prod(manifest["model"][side]["shape"]) for side in ("input", "output")}
    for keys, side, index in _declared_indices(manifest):
        if index >= sizes[side]:
            raise ManifestInconsistent(
                f"{side} index {index} is outside the {side} tensor of {sizes[side]} elements",
                path=_json_path(keys),
            )


_MANIFEST_CHECKS: tuple[Callable[[Manifest, Limits], None], ...] = (
    _reject_too_deep_or_long_strings,
    _reject_unsupported_schema_version,
    _reject_bad_semver,
    _reject_schema_violations,
    _reject_wrong_file_extensions,
    _reject_inverted_ranges,
    _reject_ranges_outside_dtype,
    _reject_indices_outside_tensors,
)


def _declared_ranges(manifest: Manifest) -> Iterator[tuple[tuple[str | int, ...], float, float]]:
    for side in ("input", "output"):
        tensor_range = manifest["model"][side].get("range")
        if tensor_range is not None:
            yield ("model", side, "range"), tensor_range[0], tensor_range[1]
    for position, invariant in enumerate(manifest["invariants"]):
        if invariant["kind"] == "output_range":
            yield ("invariants", position), invariant["min"], invariant["max"]


def _declared_indices(manifest: Manifest) -> Iterator[tuple[tuple[str | int, ...], str, int]]:
    """Every (json path, tensor side, flat index) an invariant refers to."""
    for position, invariant in enumerate(manifest["invariants"]):
        base: tuple[str | int, ...] = ("invariants", position)
        for offset, index in enumerate(invariant.get("outputs", ())):
            yield (*base, "outputs", offset), "output", index
        if invariant["kind"] == "monotonic":
            yield (*base, "input"), "input", invariant["input"]
            yield (*base, "output"), "output", invariant["output"]
        elif invariant["kind"] == "implies":
            for offset, condition in enumerate(invariant["when"]):
                yield (*base, "when", offset, "input"), "input", condition["input"]
            then = invariant["then"]
            key = "argmax" if "argmax" in then else "output"
            yield (*base, "then", key), "output", then[key]


def _lookup(manifest: Manifest, keys: tuple[str, ...]) -> Any:
    value: Any = manifest
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, str) else None


def _json_path(keys: tuple[str | int, ...]) -> str:
    parts = ["$"]
    for key in keys:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            parts.append(f".{key}")
        else:
            parts.append(f"[{json.dumps(key)}]")
    return "".join(parts)


def _short(value: Any) -> str:
    return _short_text(json.dumps(value))


def _short_text(text: str) -> str:
    # Details echo vendor input; keep them short so a refusal never carries a payload.
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."
