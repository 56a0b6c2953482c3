"""The published manifest schema: a valid draft 2020-12 schema that is closed and bounded."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from marketplace.packageformat import manifest_schema, manifest_schema_bytes

from .builders import FIRMWARE_SECTION, make_manifest


def _subschemas(node, path="#"):
    """Every schema object inside the schema, with a readable location."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from _subschemas(sub, f"{path}/{key}/{name}")
            elif key in ("items", "then", "not"):
                yield from _subschemas(value, f"{path}/{key}")
            elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
                for index, sub in enumerate(value):
                    yield from _subschemas(sub, f"{path}/{key}/{index}")


def test_served_bytes_are_a_valid_draft_2020_12_schema():
    schema = json.loads(manifest_schema_bytes())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"] == {
        "const": 1,
        "description": "Version of this schema.",
    }


def test_every_object_schema_refuses_unknown_properties():
    open_objects = [
        path
        for path, node in _subschemas(manifest_schema())
        if "properties" in node
        and node.get("additionalProperties") is not False
        # The invariant dispatcher only selects the closed schema for each kind.
        and path != "#/$defs/invariant"
    ]
    assert open_objects == []


@pytest.mark.parametrize(("kind", "bound"), [("string", "maxLength"), ("array", "maxItems")])
def test_every_free_string_and_array_is_bounded(kind, bound):
    unbounded = [
        path
        for path, node in _subschemas(manifest_schema())
        if node.get("type") == kind and bound not in node
    ]
    assert unbounded == []


def test_third_party_validators_accept_the_example_manifests():
    # What a vendor's own tooling sees with the published schema and a stock validator.
    validator = Draft202012Validator(json.loads(manifest_schema_bytes()))
    assert list(validator.iter_errors(make_manifest())) == []
    assert list(validator.iter_errors(make_manifest(firmware=FIRMWARE_SECTION))) == []


def test_callers_cannot_corrupt_the_shared_schema():
    manifest_schema()["properties"].clear()
    assert manifest_schema()["properties"]
