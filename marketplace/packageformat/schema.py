"""The published manifest JSON Schema: its bytes for serving and the compiled validator."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMA_FILE = "manifest.schema.json"
SCHEMA_MEDIA_TYPE = "application/schema+json"


@functools.cache
def manifest_schema_bytes() -> bytes:
    """The schema file exactly as published at ``/api/v1/schemas/manifest.json``."""
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_bytes()


@functools.cache
def _schema() -> dict[str, Any]:
    return json.loads(manifest_schema_bytes())


def target_cores() -> tuple[str, ...]:
    """The Cortex-M cores a package may target (the schema's ``target.core``): what a device
    may say it is, so that what it runs can be certified for it."""
    return tuple(_schema()["properties"]["target"]["properties"]["core"]["enum"])


def manifest_schema() -> dict[str, Any]:
    """A private copy of the parsed schema, safe for callers to modify."""
    return copy.deepcopy(_schema())


@functools.cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA-262 regexes, where "$" only matches at the very end.
    # Python's "$" also matches before a trailing newline, which would let "pump\n" pass
    # as a slug, so the final anchor is translated to "\Z". ASCII keeps classes ASCII.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern, re.ASCII)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Any:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not _ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def manifest_validator() -> Draft202012Validator:
    """The shared validator for manifests, built once per process.

    jsonschema is imported here, not at module level: importing it costs seconds and tens of
    MB (its format checkers pull in a grammar parser), and a web process that never validates
    a manifest (one that only browses) should not pay for it.
    """
    from jsonschema import Draft202012Validator
    from jsonschema.validators import extend

    return extend(Draft202012Validator, {"pattern": _pattern})(_schema())


@functools.cache
def manifest_is_valid() -> Callable[[Any], bool]:
    """Whether a manifest satisfies the schema, by jsonschema-rs's compiled validator: a few
    microseconds where ``manifest_validator`` takes milliseconds (a third of the CPU an upload
    spent validating its package). ``manifest_validator`` stays the reference that explains a
    refusal. Their patterns mean the same: every pattern in the schema is anchored and uses
    ASCII classes only, where ECMA-262, Rust's regex and ``_ecma_regex`` agree;
    ``tests/packageformat/test_manifest_schema.py`` holds the two to the same verdicts.
    Without jsonschema-rs installed every manifest goes to the reference validator."""
    try:
        import jsonschema_rs
    except ImportError:  # a platform without its wheel (the CLI): the reference decides alone
        return lambda manifest: False

    validator = jsonschema_rs.validator_for(_schema())

    def is_valid(manifest: Any) -> bool:
        try:
            return validator.is_valid(manifest)
        except (TypeError, ValueError):  # not a JSON value (a caller's tuple, a set)
            return False

    return is_valid
