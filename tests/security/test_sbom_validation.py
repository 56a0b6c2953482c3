"""A vendor's sbom.cdx.json is schema-checked and its components read, or refused with a code."""

from __future__ import annotations

import json

import pytest
import rfc3987_syntax
from hypothesis import given, settings
from hypothesis import strategies as st

from certification.security.errors import SbomError
from certification.security.sbom import MAX_REPORTED_SCHEMA_ERRORS, _validators, parse_sbom
from tests.network import cut_network
from tests.security.sboms import component, cyclonedx, document

JINJA = component("Jinja2", "3.1.2", "pkg:pypi/jinja2@3.1.2", licenses=("BSD-3-Clause",))


def refusal(data: bytes, **kwargs) -> SbomError:
    with pytest.raises(SbomError) as caught:
        parse_sbom(data, **kwargs)
    return caught.value


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
def test_supported_spec_versions_are_accepted(spec):
    sbom = parse_sbom(cyclonedx(JINJA, spec=spec))

    assert sbom.spec_version == spec
    assert [c.name for c in sbom.components] == ["Jinja2"]


@pytest.mark.parametrize("spec", ["1.3", "1.2", "1.7", "2.0"])
def test_other_spec_versions_are_refused_with_a_clear_code(spec):
    error = refusal(cyclonedx(JINJA, spec=spec))

    assert error.code == "sbom_unsupported_spec_version"
    assert "1.4, 1.5, 1.6" in error.detail


def test_missing_spec_version_is_refused():
    doc = document(JINJA)
    del doc["specVersion"]

    assert refusal(json.dumps(doc).encode()).code == "sbom_unsupported_spec_version"


def test_an_spdx_document_is_not_taken_for_cyclonedx():
    spdx = {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "agent"}

    assert refusal(json.dumps(spdx).encode()).code == "sbom_not_cyclonedx"


@pytest.mark.parametrize(
    "data",
    [b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'"a string"', b"[" * 100_000],
)
def test_bytes_that_are_not_a_json_object_are_refused(data):
    assert refusal(data).code == "sbom_invalid_json"


def test_an_sbom_naming_a_key_twice_is_refused_as_a_manifest_is():
    """An object naming ``version`` twice: the scan would read the last copy, and another
    reader (a vendor's tool, an auditor's) maybe the first; one vulnerable, one not."""
    text = json.dumps(document(JINJA))
    field = '"version": '
    twice = text.replace(field, field + '"2.10.0", ' + field, 1)
    assert twice.count(field) == text.count(field) + 1

    refused = refusal(twice.encode())

    assert refused.code == "sbom_invalid_json"
    assert '"version" appears twice in one object' in str(refused)


def test_oversized_sbom_is_refused_before_parsing():
    assert refusal(cyclonedx(JINJA), max_bytes=100).code == "sbom_too_large"


def test_schema_violations_are_refused_with_their_locations():
    nameless = {"type": "library", "version": "1.0", "purl": "pkg:pypi/x@1.0"}
    bad_type = component("numpy", "1.26.4", "pkg:pypi/numpy@1.26.4", type="not-a-type")

    error = refusal(cyclonedx(JINJA, nameless, bad_type))

    assert error.code == "sbom_schema_invalid"
    joined = "\n".join(error.errors)
    assert "components/1" in joined and '"name" is a required property' in joined
    assert "components/2/type" in joined


def test_schema_error_list_and_messages_are_bounded():
    # Vendor input is echoed in jsonschema messages; a hostile SBOM must not blow up the report.
    huge_name = "x" * 100_000
    components = [{"type": "library", "name": huge_name, "version": 7}] * 50

    error = refusal(cyclonedx(*components))

    assert len(error.errors) == MAX_REPORTED_SCHEMA_ERRORS
    assert all(len(message) < 1_000 for message in error.errors)


def test_validation_never_touches_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("SBOM validation tried to open a network connection")

    cut_network(monkeypatch, no_network)
    _validators.cache_clear()  # build the validators (and their $ref registry) under the block too

    for spec in ("1.4", "1.5", "1.6"):
        assert parse_sbom(cyclonedx(JINJA, spec=spec)).spec_version == spec
        with pytest.raises(SbomError):
            parse_sbom(cyclonedx({"type": "library"}, spec=spec))


def test_components_licences_and_nested_parts_are_read():
    firmware = component(
        "sensor-firmware",
        "2.0.0",
        "pkg:generic/acme/sensor-firmware@2.0.0",
        licenses=(),
        components=[component("cmsis-nn", "6.0.0", "pkg:github/arm-software/cmsis-nn@v6.0.0")],
    )
    named = component("numpy", "1.26.4", "pkg:pypi/numpy@1.26.4", licenses=())
    named["licenses"] = [{"license": {"name": "NumPy license"}}]
    dual = component(
        "tflite-micro", "0.1", "pkg:pypi/tflite-micro@0.1", licenses=("MIT OR Apache-2.0",)
    )

    sbom = parse_sbom(cyclonedx(JINJA, firmware, named, dual))

    assert [c.name for c in sbom.components] == [
        "Jinja2",
        "sensor-firmware",
        "cmsis-nn",
        "numpy",
        "tflite-micro",
    ]
    jinja, _, _, numpy, tflm = sbom.components
    assert jinja.version == "3.1.2"
    assert jinja.license_expressions == ("BSD-3-Clause",)
    assert numpy.license_names == ("NumPy license",)
    assert tflm.license_expressions == ("MIT OR Apache-2.0",)
    assert sbom.serial_number.startswith("urn:uuid:")
    assert sbom.issues == ()


def test_a_component_without_purl_is_reported_not_refused():
    sbom = parse_sbom(cyclonedx(JINJA, component("vendored-lib", "0.3")))

    [issue] = sbom.issues
    assert (issue.code, issue.component, issue.version) == (
        "component_missing_purl",
        "vendored-lib",
        "0.3",
    )


@pytest.mark.parametrize(
    ("purl", "why"),
    [
        ("not-a-purl", "scheme"),
        ("pkg:maven/log4j-core@2.14.1", "Namespace is required"),
        ("pkg:nosuchtype/thing@1.0", "Unexpected purl type"),
    ],
)
def test_an_invalid_purl_is_reported_with_the_reason(purl, why):
    sbom = parse_sbom(cyclonedx(component("thing", "1.0", purl)))

    [issue] = sbom.issues
    assert issue.code == "invalid_purl"
    assert issue.purl == purl
    assert why in issue.detail
    assert sbom.components[0].package_url is None


def reference_url(url: str) -> bytes:
    return cyclonedx(component("x", "1", externalReferences=[{"type": "website", "url": url}]))


# Characters where URI and IRI grammars draw their lines: delimiters, percent, space and other
# characters never allowed, non-ASCII ones allowed (ucschar), one allowed only in a query
# (iprivate, U+E000) and ones never allowed (U+FFFE, a control).
_URL_PIECES = [
    *"ab:/?#[]@!$&'()*+,;=%-._~09AFv \\\"<>{}|^`\x7f\t",
    *("\u00e4", "\ue000", "\u00a0", "\u200f", "\ufffe", "//", "http://", "%41", "%zz", "::"),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_URL_PIECES), max_size=10).map("".join))
def test_reference_urls_are_checked_by_rfc_3987_as_before(url):
    """A URL (format ``iri-reference``) is refused exactly when RFC 3987's grammar refuses it:
    the same verdict as ``rfc3987_syntax``, which the CycloneDX library's own validator used
    (at about 0.1 s a URL; validation now takes a millisecond)."""
    valid = rfc3987_syntax.is_valid_syntax("iri_reference", url)
    data = reference_url(url)
    if valid:
        parse_sbom(data)
    else:
        error = refusal(data)
        assert error.code == "sbom_schema_invalid"
        assert error.errors[0].startswith("components/0/externalReferences/0/url: ")


@pytest.mark.parametrize("url", ["https://example.com/\U0001f600", "https://\U0001f600.example/"])
def test_a_url_with_characters_beyond_the_bmp_is_an_iri_as_rfc_3987_says(url):
    """ucschar runs to U+EFFFD (RFC 3987 2.2); rfc3987_syntax refuses U+10000 and above."""
    assert not rfc3987_syntax.is_valid_syntax("iri_reference", url)
    assert parse_sbom(reference_url(url)).components[0].name == "x"


def raw_sbom(extra: str) -> bytes:
    """A CycloneDX 1.5 document with ``extra`` (raw JSON members) beside its header."""
    return (
        '{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, ' + extra + "}"
    ).encode()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ('"metadata": {"\\ud800": 1}', "lone UTF-16 surrogate"),
        ('"serialNumber": "urn:uuid:\\udc00"', "lone UTF-16 surrogate"),
        (
            '"components": [{"type": "library", "name": "x", "version": '
            + "[" * 300
            + "]" * 300
            + "}]",
            "Recursion limit reached",
        ),
        ('"x": ' + "[" * 300 + "]" * 300, "Recursion limit reached"),
        ('"vulnerabilities": [{"ratings": [{"score": NaN}]}]', "NaN is not valid JSON"),
        ('"vulnerabilities": [{"ratings": [{"score": 1e400}]}]', "overflows a double"),
        ('"vulnerabilities": [{"ratings": [{"score": 1' + "0" * 400 + "}]}]", "overflows a double"),
    ],
    ids=[
        "surrogate-key",
        "surrogate-value",
        "deep-component",
        "deep-elsewhere",
        "nan",
        "1e400",
        "integer-past-a-double",
    ],
)
def test_json_no_validator_can_read_is_refused_as_such(extra, said):
    """Python's json reads these; a schema validator (and UTF-8 text) cannot: each is refused
    as unreadable JSON, saying why, never an exception of another kind."""
    error = refusal(raw_sbom(extra))
    assert error.code == "sbom_invalid_json"
    assert said in error.detail


# What a vendor's component name wrote into the reviewers' re-scan digest, line by line.
FORGED = "urllib3\n\nAll other findings of this re-scan were withdrawn; ignore them"


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        (component(FORGED, "1.26.16", "pkg:pypi/urllib3@1.26.16"), "name holds the control"),
        (component("urllib3", "1.26\x1b[2J", "pkg:pypi/urllib3"), "version holds the control"),
        # The purl's version is the one matched and printed (``%0A`` is a line feed).
        (component("urllib3", "1.26.16", "pkg:pypi/urllib3@1.26%0Ax"), "purl holds the control"),
        (component("urllib3", "1.26.16", "pkg:pypi/url\tlib3@1.26.16"), "purl holds the control"),
        (component("lib\u202egnp", "1.0", "pkg:pypi/libgnp@1.0"), "name holds the bidi"),
        # Nested parts are components too.
        (component("dsp", "1.0", "pkg:pypi/dsp@1.0", components=[component("a\rb", "1")]), "name"),
    ],
    ids=["name-line-feed", "version-escape", "purl-version", "purl-tab", "name-bidi", "nested"],
)
def test_a_component_name_version_or_purl_holding_a_control_is_refused(entry, said):
    """Names, versions and purls are printed as one line of what reviewers and vendors read
    (the stage's logs, the re-scan's emails): a line break in a name wrote lines of the
    platform's own into the reviewers' digest (before: accepted as written)."""
    error = refusal(cyclonedx(JINJA, entry))

    assert error.code == "sbom_control_character"
    assert said in error.detail
    assert error.detail.isprintable()  # the refusal quotes the name escaped


def test_every_broken_component_is_named_up_to_the_limit():
    broken = [{"type": "nope", "name": 1, "version": 2, "purl": 3}] * 5_000
    error = refusal(cyclonedx(JINJA, *broken))
    assert len(error.errors) == MAX_REPORTED_SCHEMA_ERRORS
    assert [line.split(":")[0].rsplit("/", 1)[0] for line in error.errors] == [
        f"components/{index}" for index in range(1, MAX_REPORTED_SCHEMA_ERRORS + 1)
    ]


def test_a_fault_outside_the_components_is_named():
    error = refusal(cyclonedx(JINJA, serialNumber="not-a-urn"))
    assert error.errors == (error.errors[0],) and error.errors[0].startswith("serialNumber: ")


@pytest.mark.parametrize(
    "email", ["security@vendor.example ", "mailto:security@vendor.example", "a.@vendor.example"]
)
def test_author_emails_are_judged_as_before(email):
    """An ``idn-email`` needs an ``@``, as the library's validator asked of the SBOMs already
    certified (jsonschema-rs alone refuses these)."""
    sbom = json.loads(cyclonedx(JINJA))
    sbom["metadata"] = {"authors": [{"name": "Vendor", "email": email}]}
    assert parse_sbom(json.dumps(sbom).encode()).components[0].name == "Jinja2"
    sbom["metadata"]["authors"][0]["email"] = "no at sign"
    assert refusal(json.dumps(sbom).encode()).errors[0].startswith("metadata/authors/0/email: ")
