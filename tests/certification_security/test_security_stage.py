"""The security stage judges a package's SBOM against the imported advisories and the policy."""

import json

import pytest

from certification.models import SecurityPolicyOverride
from certification.pipeline.stages import security
from tests.packageformat.builders import make_manifest, make_package
from tests.security import advisories
from tests.security.sboms import component, document

from .conftest import (
    LOG4J_PATCHED,
    LOG4J_VULNERABLE,
    URLLIB3_PATCHED,
    URLLIB3_VULNERABLE,
    sbom_package,
    stage_context,
)

pytestmark = pytest.mark.django_db


def _vulnerabilities(outcome) -> list[dict]:
    return [f for f in outcome.findings if f["kind"] == "vulnerability"]


def test_sbom_with_a_component_of_a_known_advisory_fails_with_that_finding(import_advisories):
    import_advisories()

    outcome = security.run(stage_context(sbom_package(LOG4J_VULNERABLE, URLLIB3_PATCHED)))

    assert outcome.result == "fail"
    assert outcome.error_code == "vulnerability_gate"
    [finding] = _vulnerabilities(outcome)
    assert finding["advisory_id"] == "GHSA-jfh8-c2jp-5v3q"
    assert finding["aliases"] == ["CVE-2021-44228"]
    assert finding["component"] == "log4j-core"
    assert finding["version"] == "2.14.1"
    assert finding["purl"] == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert finding["severity"] == "critical"
    assert finding["score"] == 10.0
    assert finding["fixed_versions"] == ["2.15.0"]
    assert finding["summary"] == "Remote code injection in Log4j"
    assert finding["blocking"] is True
    assert outcome.metrics["components"] == 2
    assert outcome.metrics["vulnerabilities"] == 1
    assert outcome.metrics["highest_severity"] == "critical"
    assert outcome.metrics["advisories_in_db"] == len(advisories.ALL)
    assert outcome.metrics["db_imported_at"] is not None
    assert (
        "CRITICAL 10.0 GHSA-jfh8-c2jp-5v3q (CVE-2021-44228) in log4j-core@2.14.1: Remote code "
        "injection in Log4j; fixed in 2.15.0 [blocks]" in outcome.logs.splitlines()
    )
    assert any(line.startswith("FAIL: 1 known vulnerability") for line in outcome.logs.splitlines())
    json.dumps(outcome.findings)  # stored in a JSONField as it is


def test_clean_sbom_passes(import_advisories):
    import_advisories()

    outcome = security.run(stage_context(sbom_package(LOG4J_PATCHED, URLLIB3_PATCHED)))

    assert outcome.result == "pass", outcome.logs
    assert outcome.error_code == ""
    assert _vulnerabilities(outcome) == []
    assert outcome.metrics["vulnerabilities"] == 0
    assert outcome.metrics["highest_severity"] == "none"
    assert outcome.metrics["license_findings"] == 0
    assert "PASS: nothing blocks the standard security gate." in outcome.logs


def test_vulnerability_below_the_level_gate_is_reported_but_passes(import_advisories):
    import_advisories()

    outcome = security.run(stage_context(sbom_package(URLLIB3_VULNERABLE)))

    assert outcome.result == "pass"
    [finding] = _vulnerabilities(outcome)
    assert (finding["advisory_id"], finding["severity"], finding["blocking"]) == (
        "GHSA-v845-jxx5-vc9f",
        "medium",
        False,
    )
    assert finding["fixed_versions"] == ["1.26.17"]
    assert outcome.metrics["highest_severity"] == "medium"
    assert outcome.metrics["blocking_vulnerabilities"] == 0


def test_admins_policy_override_tightens_the_gate(import_advisories):
    import_advisories()
    SecurityPolicyOverride.objects.create(
        level="standard", overrides={"fail_on_severity": "medium"}
    )

    outcome = security.run(stage_context(sbom_package(URLLIB3_VULNERABLE)))

    assert outcome.result == "fail"
    assert outcome.error_code == "vulnerability_gate"
    assert outcome.metrics["fail_on_severity"] == "medium"


def test_hardware_level_uses_its_own_licence_allow_list(import_advisories):
    import_advisories()
    lgpl = component("libfoo", "1.0.0", "pkg:pypi/libfoo@1.0.0", licenses=("LGPL-2.1-only",))

    standard = security.run(stage_context(sbom_package(lgpl), "standard"))
    hardware = security.run(stage_context(sbom_package(lgpl), "hardware"))

    assert standard.result == "pass"
    assert hardware.result == "fail"
    assert hardware.error_code == "license_denied"
    [finding] = [f for f in hardware.findings if f["kind"] == "license"]
    assert finding["license"] == "LGPL-2.1-only"
    assert "licence license_denied: libfoo@1.0.0 (LGPL-2.1-only)" in hardware.logs


def test_withdrawn_advisory_is_not_reported(import_advisories):
    # The same record not withdrawn, under another id, shows the version is in its range.
    active = {k: v for k, v in advisories.NETTY_WITHDRAWN.items() if k != "withdrawn"}
    import_advisories(advisories.NETTY_WITHDRAWN, {**active, "id": "TEST-NETTY-ACTIVE"})
    netty = component(
        "netty-handler", "4.1.99.Final", "pkg:maven/io.netty/netty-handler@4.1.99.Final"
    )

    outcome = security.run(stage_context(sbom_package(netty)))

    assert [f["advisory_id"] for f in _vulnerabilities(outcome)] == ["TEST-NETTY-ACTIVE"]


def test_empty_advisory_database_still_scans_and_says_so(db):
    outcome = security.run(stage_context(sbom_package(LOG4J_VULNERABLE)))

    assert outcome.result == "pass"
    assert outcome.metrics["advisories_in_db"] == 0
    assert outcome.metrics["db_imported_at"] is None
    assert security.EMPTY_DATABASE_WARNING in outcome.logs
    assert {
        "kind": "advisory_db_empty",
        "detail": security.EMPTY_DATABASE_WARNING,
        "blocking": False,
    } in outcome.findings


def test_component_without_purl_fails(import_advisories):
    import_advisories()
    unnamed = component("dsp-helpers", "1.0.0", None)

    outcome = security.run(stage_context(sbom_package(unnamed)))

    assert outcome.result == "fail"
    assert outcome.error_code == "component_missing_purl"
    assert "component component_missing_purl: dsp-helpers@1.0.0" in outcome.logs


@pytest.mark.parametrize(
    ("sbom", "code"),
    [
        (b"not json", "sbom_invalid_json"),
        (json.dumps({"spdxVersion": "SPDX-2.3"}).encode(), "sbom_not_cyclonedx"),
        (json.dumps(document(spec="1.3")).encode(), "sbom_unsupported_spec_version"),
        (json.dumps({**document(), "components": [{"name": 1}]}).encode(), "sbom_schema_invalid"),
        (
            json.dumps(document(component("urllib3\nx", "1.0", "pkg:pypi/urllib3@1.0"))).encode(),
            "sbom_control_character",
        ),
    ],
)
def test_invalid_sbom_fails_with_its_code(db, sbom, code):
    data = make_package(make_manifest(), files={"sbom.cdx.json": sbom})

    outcome = security.run(stage_context(data))

    assert outcome.result == "fail"
    assert outcome.error_code == code
    assert outcome.findings[0]["kind"] == code


def test_stored_override_that_no_longer_applies_is_an_error_not_a_pass(import_advisories):
    import_advisories()
    # Written around the admin's validation, as a setting renamed since it was saved would be.
    SecurityPolicyOverride.objects.create(level="standard", overrides={"fail_on": "low"})

    outcome = security.run(stage_context(sbom_package(LOG4J_PATCHED)))

    assert outcome.result == "error"
    assert outcome.error_code == "policy_invalid"
