"""The published manifest schema: a valid draft 2020-12 schema that is closed and bounded."""

from __future__ import annotations

import copy
import json
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from marketplace.packageformat import manifest_schema, manifest_schema_bytes
from marketplace.packageformat.schema import manifest_is_valid, manifest_validator

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


# Values that probe the schema's edges: pattern anchors and classes (a trailing newline,
# non-ASCII digits and letters), bounds, types JSON tells apart and Python does not (bool/int).
_EDGE_STRINGS = st.sampled_from(
    [
        "",
        "pump",
        "pump\n",
        "Pump",
        "pump-",
        "-pump",
        "1.0.0",
        "1.0.0\n",
        "01.0.0",
        "1.0.0-rc.1",
        "1.0.0+build.5",
        "\u0661.\u0662.\u0663",
        "p\u00fcmp",
        "a" * 64,
        "a" * 300,
        "model.tflite",
        "../model.tflite",
        "dir/model.tflite",
        "cortex-m4",
        "int8",
        "float32",
        "tflite",
    ]
)
# Numbers where Rust's and Python's readings of JSON could part: beyond 64 bits, whole floats
# in integer fields, signed zero, subnormals.
_EDGE_NUMBERS = st.sampled_from(
    [2**63, 2**64, -(2**63) - 1, 10**30, 10**400, 1.0, 65536.0, -0.0, 5e-324, 1e308]
)
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | _EDGE_NUMBERS
    | st.floats(allow_nan=False, allow_infinity=False)
    | _EDGE_STRINGS
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=8,
)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), firmware=st.booleans())
def test_the_fast_validator_gives_the_reference_validators_verdict(data, firmware):
    """``manifest_is_valid`` (jsonschema-rs) decides uploads; ``manifest_validator``
    (jsonschema, with ECMA-262 patterns) is the reference: a valid manifest with one value
    replaced, removed or added anywhere gets the same verdict from both."""
    manifest = (
        make_manifest(firmware=copy.deepcopy(FIRMWARE_SECTION)) if firmware else make_manifest()
    )
    path = data.draw(st.sampled_from(list(_paths(manifest))[1:]))
    *parents, last = path
    parent = manifest
    for key in parents:
        parent = parent[key]
    action = data.draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace":
        parent[last] = data.draw(_JSON_VALUES)
    elif action == "remove":
        del parent[last]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(max_size=6) | _EDGE_STRINGS)] = data.draw(_JSON_VALUES)
    else:
        parent.append(data.draw(_JSON_VALUES))
    reference = not any(manifest_validator().iter_errors(manifest))
    assert manifest_is_valid()(manifest) == reference


def test_the_fast_validator_accepts_the_valid_manifests():
    assert manifest_is_valid()(make_manifest())
    assert manifest_is_valid()(make_manifest(firmware=FIRMWARE_SECTION))
    assert not manifest_is_valid()(make_manifest(version="1.0.0\n"))
    assert not manifest_is_valid()(make_manifest(version="\u0661.\u0662.\u0663"))


def test_without_jsonschema_rs_the_reference_validator_decides_alone(monkeypatch):
    """The CLI may run where jsonschema-rs has no wheel: manifests are still checked."""
    from marketplace.packageformat import PackageError, validate_manifest

    monkeypatch.setitem(sys.modules, "jsonschema_rs", None)  # import fails
    manifest_is_valid.cache_clear()
    try:
        assert manifest_is_valid()(make_manifest()) is False
        validate_manifest(make_manifest())
        with pytest.raises(PackageError) as refused:
            validate_manifest(make_manifest(version=1))
        assert refused.value.code == "schema_violation"
    finally:
        manifest_is_valid.cache_clear()
