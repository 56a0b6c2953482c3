"""The manifest validator: what vendors may declare and the exact code and path of a mistake."""

from __future__ import annotations

import copy

import pytest

from marketplace.packageformat import Limits, PackageError, parse_manifest, validate_manifest

from .builders import FIRMWARE_SECTION, make_manifest


def refusal(manifest, limits=None):
    with pytest.raises(PackageError) as refused:
        validate_manifest(manifest, *([limits] if limits else []))
    return refused.value


def test_default_manifest_with_every_invariant_kind_is_valid():
    manifest = make_manifest()
    assert {inv["kind"] for inv in manifest["invariants"]} == {
        "finite",
        "deterministic",
        "output_range",
        "monotonic",
        "robust",
        "implies",
    }
    validate_manifest(manifest)


@pytest.mark.parametrize(
    "version", ["0.0.1", "1.2.3", "10.20.30", "1.0.0-rc.1", "1.0.0-alpha.beta+exp.sha.5114f85"]
)
def test_semver_versions_are_accepted(version):
    validate_manifest(make_manifest(version=version))


@pytest.mark.parametrize(
    "version",
    [
        "1",
        "1.2",
        "v1.2.3",
        "1.2.3.4",
        "01.2.3",
        "1.2.3-",
        "1.2.3-01",
        "1.2.3+",
        "1.2.3\n",
        "1.2.3-" + "a" * 64,
        "\u0661.\u0662.\u0663",  # Arabic-Indic digits
    ],
)
def test_non_semver_versions_get_their_own_code(version):
    error = refusal(make_manifest(version=version))
    assert (error.code, error.path) == ("invalid_version", "$.version")


def test_version_of_wrong_type_is_a_schema_violation():
    assert refusal(make_manifest(version=1)).code == "schema_violation"


def test_schema_violation_reports_the_json_path_of_the_field():
    manifest = make_manifest()
    manifest["model"]["input"]["dtype"] = "float64"
    error = refusal(manifest)
    assert error.code == "schema_violation"
    assert error.path == "$.model.input.dtype"
    assert error.status == 422


def test_unknown_nested_field_is_refused():
    manifest = make_manifest()
    manifest["target"]["fpu"] = True
    error = refusal(manifest)
    assert (error.code, error.path) == ("schema_violation", "$.target")
    assert "fpu" in error.detail


@pytest.mark.parametrize(
    "invariant",
    [
        {"kind": "output_range", "min": 0},
        {"kind": "finite", "epsilon": 1},
        {"kind": "monotonic", "input": 0, "output": 0, "direction": "sideways"},
        {"kind": "robust", "epsilon": -1, "delta": 1},
        {"kind": "implies", "when": [], "then": {"argmax": 0}},
        {"kind": "implies", "when": [{"input": 0, "op": "eq", "value": 1}], "then": {"argmax": 0}},
        {"kind": "implies", "when": [{"input": 0, "op": "gt", "value": 1}], "then": {}},
        {"when": [{"input": 0, "op": "gt", "value": 1}], "then": {"argmax": 0}},
    ],
)
def test_malformed_invariants_are_schema_violations_inside_the_invariant(invariant):
    error = refusal(make_manifest(invariants=[invariant]))
    assert error.code == "schema_violation"
    assert error.path.startswith("$.invariants[0]")


def test_implies_accepts_an_output_threshold_instead_of_an_argmax():
    invariant = {
        "kind": "implies",
        "when": [{"input": 0, "op": "ge", "value": 10}, {"input": 1, "op": "lt", "value": -5}],
        "then": {"output": 1, "op": "le", "value": 0},
    }
    validate_manifest(make_manifest(invariants=[invariant]))


def test_invariants_may_be_empty_and_firmware_is_optional():
    validate_manifest(make_manifest(invariants=[]))
    validate_manifest(make_manifest(firmware=FIRMWARE_SECTION))


def test_float_model_with_tolerance_is_valid():
    manifest = make_manifest()
    manifest["model"]["input"] = {"shape": [1, 4], "dtype": "float32", "range": [-1.5, 1.5]}
    manifest["model"]["output"] = {"shape": [1, 3], "dtype": "float32", "range": [0.0, 1.0]}
    manifest["model"]["tolerance"] = 0.001
    validate_manifest(manifest)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda m: m["model"]["output"].update(range=[5, -5]), "$.model.output.range"),
        (lambda m: m["model"]["input"].update(range=[-129, 127]), "$.model.input.range"),
        (
            lambda m: m["model"]["output"].update(dtype="uint8", range=[-1, 255]),
            "$.model.output.range",
        ),
        # An integer tensor's range holding no integer: certification found no input to draw.
        pytest.param(
            lambda m: m["model"]["input"].update(range=[0.5, 0.7]),
            "$.model.input.range",
            id="int8-input-range-holding-no-integer",
        ),
        (lambda m: m["invariants"][2].update(min=10, max=0), "$.invariants[2]"),
        (lambda m: m["invariants"][2].update(outputs=[0, 3]), "$.invariants[2].outputs[1]"),
        (lambda m: m["invariants"][3].update(output=3), "$.invariants[3].output"),
        (lambda m: m["invariants"][5]["when"][0].update(input=4), "$.invariants[5].when[0].input"),
        (lambda m: m["invariants"][5].update(then={"argmax": 3}), "$.invariants[5].then.argmax"),
    ],
)
def test_inconsistent_values_are_refused_with_their_path(mutate, path):
    manifest = make_manifest()
    mutate(manifest)
    error = refusal(manifest)
    assert (error.code, error.path) == ("manifest_inconsistent", path)


def test_an_integer_tensor_range_with_a_fractional_bound_holding_integers_is_valid():
    # Read rounded inward, as certification draws its inputs: [0.5, 2.5] holds 1 and 2.
    manifest = make_manifest()
    manifest["model"]["input"]["range"] = [0.5, 2.5]
    manifest["model"]["output"]["range"] = [-3.0, 3.0]
    validate_manifest(manifest)
    # An output range holding none is read by no stage: packages certified with one (before
    # the input's rule, 2026-12-06) must still read back for rescans.
    manifest["model"]["output"]["range"] = [0.5, 0.7]
    validate_manifest(manifest)


def test_multi_dimensional_shapes_count_every_element():
    manifest = make_manifest()
    manifest["model"]["input"]["shape"] = [1, 2, 2]
    manifest["invariants"][5]["when"][0]["input"] = 3
    validate_manifest(manifest)


@pytest.mark.parametrize("value", [True, "1", 1.5, 0])
def test_schema_version_must_be_exactly_one(value):
    error = refusal(make_manifest(schema_version=value))
    assert (error.code, error.path) == ("unsupported_schema_version", "$.schema_version")


def test_missing_schema_version_is_a_schema_violation():
    error = refusal(make_manifest(schema_version=None))
    assert error.code == "schema_violation"
    assert "schema_version" in error.detail


@pytest.mark.parametrize("license_id", ["MIT", "Apache-2.0", "GPL-3.0-or-later", "LicenseRef-Acme"])
def test_spdx_identifiers_are_accepted(license_id):
    validate_manifest(make_manifest(license=license_id))


@pytest.mark.parametrize("license_id", ["MIT OR Apache-2.0", "", "-MIT", "MIT\n"])
def test_non_identifier_licenses_are_refused(license_id):
    assert refusal(make_manifest(license=license_id)).code == "schema_violation"


@pytest.mark.parametrize("name", ["pump", "a", "pump-anomaly-2"])
def test_slug_names_are_accepted(name):
    validate_manifest(make_manifest(name=name))


@pytest.mark.parametrize("name", ["-pump", "pump-", "Pump", "pump anomaly", "p" * 65, "pümp"])
def test_non_slug_names_are_refused(name):
    error = refusal(make_manifest(name=name))
    assert (error.code, error.path) == ("schema_violation", "$.name")


@pytest.mark.parametrize(
    "path", ["../model.tflite", "/model.tflite", ".hidden.tflite", "a//b.tflite"]
)
def test_model_path_must_be_a_plain_relative_path(path):
    manifest = make_manifest()
    manifest["model"]["file"] = path
    error = refusal(manifest)
    assert (error.code, error.path) == ("schema_violation", "$.model.file")


def test_sbom_must_be_a_cyclonedx_json_file():
    error = refusal(make_manifest(sbom={"file": "sbom.json"}))
    assert (error.code, error.path) == ("wrong_file_extension", "$.sbom.file")


def test_string_cap_applies_to_keys_and_nested_strings():
    limits = Limits(max_string_length=16)
    manifest = make_manifest(description="short")
    manifest["invariants"][5]["name"] = "x" * 17
    error = refusal(manifest, limits)
    assert (error.code, error.path) == ("string_too_long", "$.invariants[5].name")
    error = refusal({"k" * 17: 1}, limits)
    assert error.code == "string_too_long"


def test_validation_does_not_modify_the_manifest():
    manifest = make_manifest()
    before = copy.deepcopy(manifest)
    validate_manifest(manifest)
    assert manifest == before


def test_non_object_manifest_is_refused():
    assert refusal(["not", "an", "object"]).code == "manifest_not_object"


def test_parse_refuses_byte_order_mark_and_accepts_plain_utf8():
    assert parse_manifest('{"description": "Café"}'.encode()) == {"description": "Café"}
    with pytest.raises(PackageError) as refused:
        parse_manifest(b"\xef\xbb\xbf{}")
    assert refused.value.code == "invalid_json"


def test_parse_refuses_integers_too_long_to_convert():
    with pytest.raises(PackageError) as refused:
        parse_manifest(b'{"x": ' + b"9" * 5000 + b"}")
    assert refused.value.code == "invalid_json"
