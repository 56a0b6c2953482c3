"""Scanning an SBOM against the advisory database: what vendors and reviewers see in the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from certification.security.errors import SbomError
from certification.security.osv import PackageKey, parse_osv_record
from certification.security.policy import SecurityPolicy
from certification.security.sbom import parse_sbom
from certification.security.scan import sbom_package_keys, scan_sbom
from certification.security.severity import Severity
from tests.security import advisories
from tests.security.sboms import component, cyclonedx

DATABASE = [parse_osv_record(raw) for raw in advisories.ALL]
STANDARD = SecurityPolicy.for_level("standard")
HARDWARE = SecurityPolicy.for_level("hardware")
BASIC = SecurityPolicy.for_level("basic")

LOG4J = "pkg:maven/org.apache.logging.log4j/log4j-core@{}"


def log4j(version: str) -> dict:
    return component("log4j-core", version, LOG4J.format(version), licenses=("Apache-2.0",))


def pypi(name: str, version: str, licence: str = "BSD-3-Clause") -> dict:
    return component(name, version, f"pkg:pypi/{name}@{version}", licenses=(licence,))


def bundle(*parts: dict) -> dict:
    """An assembly component (a gateway bundle) made of ``parts``."""
    return component(
        "gateway-bundle", "1.0.0", "pkg:generic/acme/gateway-bundle@1.0.0", components=list(parts)
    )


def test_an_sbom_with_log4shell_fails_with_that_finding():
    report = scan_sbom(cyclonedx(log4j("2.14.1"), pypi("numpy", "1.26.4")), DATABASE, STANDARD)

    assert not report.passed
    assert report.failure_codes == ("vulnerability_gate",)
    [finding] = report.findings
    assert finding.component == "log4j-core"
    assert finding.version == "2.14.1"
    assert finding.purl == LOG4J.format("2.14.1")
    assert finding.advisory_id == "GHSA-jfh8-c2jp-5v3q"
    assert finding.aliases == ("CVE-2021-44228",)
    assert (finding.severity, finding.score) == (Severity.CRITICAL, 10.0)
    assert finding.fixed_versions == ("2.15.0",)
    assert finding.summary == "Remote code injection in Log4j"
    assert finding.blocking
    assert "GHSA-jfh8-c2jp-5v3q in log4j-core@2.14.1" in report.reasons[0]
    assert "at or above critical (the standard gate)" in report.reasons[0]


def test_the_same_components_at_fixed_versions_pass():
    clean = cyclonedx(
        log4j("2.17.1"),
        pypi("Jinja2", "3.1.6"),
        pypi("Django", "4.2.3"),
        pypi("requests", "2.31.0", "Apache-2.0"),
        pypi("urllib3", "2.0.6", "MIT"),
        component("lodash", "4.17.21", "pkg:npm/lodash@4.17.21"),
        component("gin", "v1.6.0", "pkg:golang/github.com/gin-gonic/gin@v1.6.0"),
    )

    for policy in (BASIC, STANDARD, HARDWARE):
        report = scan_sbom(clean, DATABASE, policy)
        assert report.passed, report.reasons
        assert report.findings == ()
        assert report.reasons == ()
        assert report.components == report.scanned_components == 7


def test_a_high_severity_finding_fails_hardware_but_only_reports_at_standard():
    sbom = cyclonedx(component("lodash", "4.17.20", "pkg:npm/lodash@4.17.20"))

    at_standard = scan_sbom(sbom, DATABASE, STANDARD)
    at_hardware = scan_sbom(sbom, DATABASE, HARDWARE)

    assert at_standard.passed
    [reported] = at_standard.findings
    assert (reported.advisory_id, reported.severity, reported.blocking) == (
        "GHSA-35jh-r3h4-6jhm",
        Severity.HIGH,
        False,
    )
    assert not at_hardware.passed
    assert at_hardware.findings[0].blocking


def test_basic_level_reports_everything_and_fails_nothing_but_missing_purls():
    sbom = cyclonedx(log4j("2.14.1"), pypi("agpl-lib", "1.0", "AGPL-3.0-only"))

    report = scan_sbom(sbom, DATABASE, BASIC)

    assert report.passed
    assert [f.advisory_id for f in report.findings] == ["GHSA-jfh8-c2jp-5v3q"]
    assert [(f.code, f.blocking) for f in report.license_findings] == [("license_denied", False)]


def test_every_advisory_for_a_component_is_listed_most_severe_first():
    sbom = cyclonedx(pypi("requests", "2.19.1", "Apache-2.0"), pypi("Jinja2", "3.1.2"))

    report = scan_sbom(sbom, DATABASE, STANDARD)

    assert [(f.component, f.advisory_id, f.severity) for f in report.findings] == [
        ("Jinja2", "GHSA-cpwx-vrp4-4pq7", Severity.MEDIUM),
        ("Jinja2", "GHSA-h5c8-rqwp-cp95", Severity.MEDIUM),
        ("requests", "GHSA-j8r2-6x86-q33q", Severity.MEDIUM),
        ("requests", "PYSEC-2018-28", Severity.UNKNOWN),
        ("requests", "PYSEC-2023-74", Severity.UNKNOWN),
    ]
    assert report.passed  # nothing critical
    by_id = {f.advisory_id: f for f in report.findings}
    assert by_id["PYSEC-2018-28"].fixed_versions == ("2.20.0",)
    assert by_id["GHSA-cpwx-vrp4-4pq7"].fixed_versions == ("3.1.6",)


def test_an_advisory_without_severity_counts_as_high_at_hardware():
    sbom = cyclonedx(component("gin", "v1.5.0", "pkg:golang/github.com/gin-gonic/gin@v1.5.0"))

    assert scan_sbom(sbom, DATABASE, STANDARD).passed
    report = scan_sbom(sbom, DATABASE, HARDWARE)

    assert not report.passed
    [finding] = report.findings
    assert (finding.advisory_id, finding.severity, finding.blocking) == (
        "GO-2020-0001",
        Severity.UNKNOWN,
        True,
    )


def test_withdrawn_advisories_are_ignored():
    netty = component(
        "netty-handler", "4.1.94.Final", "pkg:maven/io.netty/netty-handler@4.1.94.Final"
    )

    assert scan_sbom(cyclonedx(netty), DATABASE, STANDARD).findings == ()
    # Scanned as of a day before the withdrawal, the same record did match.
    before = datetime(2023, 10, 15, tzinfo=UTC)
    [finding] = scan_sbom(cyclonedx(netty), DATABASE, STANDARD, now=before).findings
    assert finding.advisory_id == "GHSA-57m8-f3v5-hm5m"


def test_a_component_without_purl_fails_the_scan_at_every_level():
    sbom = cyclonedx(pypi("numpy", "1.26.4"), component("vendored-dsp", "0.3", licenses=("MIT",)))

    for policy in (BASIC, STANDARD, HARDWARE):
        report = scan_sbom(sbom, DATABASE, policy)
        assert not report.passed
        assert report.failure_codes == ("component_missing_purl",)
        assert report.reasons == ("component_missing_purl: vendored-dsp",)


def test_an_invalid_purl_fails_the_scan():
    report = scan_sbom(
        cyclonedx(component("core", "2.14.1", "pkg:maven/log4j-core@2.14.1")), DATABASE, STANDARD
    )

    assert report.failure_codes == ("invalid_purl",)
    assert report.component_issues[0].purl == "pkg:maven/log4j-core@2.14.1"


def test_a_denied_licence_fails_with_the_component_named():
    sbom = cyclonedx(pypi("numpy", "1.26.4"), pypi("mongo-thing", "1.0", "SSPL-1.0"))

    report = scan_sbom(sbom, DATABASE, STANDARD)

    assert not report.passed
    assert report.failure_codes == ("license_denied",)
    assert report.reasons == ("license_denied: mongo-thing (SSPL-1.0)",)


def test_components_outside_osv_ecosystems_are_listed_but_do_not_fail():
    firmware = component("sensor-fw", "2.0.0", "pkg:generic/acme/sensor-fw@2.0.0")

    report = scan_sbom(cyclonedx(firmware), DATABASE, HARDWARE)

    assert report.passed
    assert report.scanned_components == 0
    [issue] = report.component_issues
    assert (issue.code, issue.blocking) == ("unsupported_ecosystem", False)


def test_unverifiable_versions_fail_standard_but_not_basic():
    sbom = cyclonedx(
        component("numpy", None, "pkg:pypi/numpy"),
        component("Jinja2", "latest", "pkg:pypi/jinja2@latest"),
    )

    report = scan_sbom(sbom, DATABASE, STANDARD)

    assert [(i.code, i.component) for i in report.component_issues] == [
        ("component_missing_version", "numpy"),
        ("version_not_comparable", "Jinja2"),
    ]
    assert set(report.failure_codes) == {"component_missing_version", "version_not_comparable"}
    assert scan_sbom(sbom, DATABASE, BASIC).passed


def test_purl_version_is_the_one_matched():
    # The component field says 2.17.1 but the purl pins the vulnerable 2.14.1.
    mismatched = component("log4j-core", "2.17.1", LOG4J.format("2.14.1"), licenses=("Apache-2.0",))

    [finding] = scan_sbom(cyclonedx(mismatched), DATABASE, STANDARD).findings

    assert finding.version == "2.14.1"


def test_nested_components_are_scanned():
    assembly = bundle(log4j("2.14.1"))

    report = scan_sbom(cyclonedx(assembly), DATABASE, STANDARD)

    assert [f.component for f in report.findings] == ["log4j-core"]


def test_a_library_listed_twice_gives_one_finding():
    # Top level and again inside an assembly, as SBOM generators merging two tools do.
    assembly = bundle(log4j("2.14.1"))

    report = scan_sbom(cyclonedx(log4j("2.14.1"), assembly), DATABASE, STANDARD)

    assert len(report.findings) == 1


def test_advisories_can_be_prefiltered_by_package_key():
    sbom = parse_sbom(cyclonedx(log4j("2.14.1"), pypi("Jinja2", "3.1.2"), pypi("numpy", "1.26.4")))

    keys = sbom_package_keys(sbom)
    relevant = [record for record in DATABASE if record.package_keys & keys]

    assert keys == {
        PackageKey("Maven", "org.apache.logging.log4j:log4j-core"),
        PackageKey("PyPI", "jinja2"),
        PackageKey("PyPI", "numpy"),
    }
    assert sorted(r.id for r in relevant) == [
        "GHSA-cpwx-vrp4-4pq7",
        "GHSA-h5c8-rqwp-cp95",
        "GHSA-jfh8-c2jp-5v3q",
    ]
    full = scan_sbom(sbom, DATABASE, STANDARD)
    filtered = scan_sbom(sbom, relevant, STANDARD)
    assert filtered.findings == full.findings
    assert filtered.advisories_considered == full.advisories_considered == 3


def test_report_serialises_to_json():
    report = scan_sbom(cyclonedx(log4j("2.14.1")), DATABASE, HARDWARE)

    data = json.loads(json.dumps(report.to_dict()))

    assert data["passed"] is False
    assert data["policy_level"] == "hardware"
    assert data["findings"][0]["severity"] == "critical"
    assert data["findings"][0]["fixed_versions"] == ["2.15.0"]


def test_an_invalid_sbom_raises_its_error_code():
    with pytest.raises(SbomError) as caught:
        scan_sbom(cyclonedx(log4j("2.14.1"), spec="1.3"), DATABASE, STANDARD)

    assert caught.value.code == "sbom_unsupported_spec_version"


def test_a_hostile_version_string_is_reported_not_crashed_on():
    huge = "9" * 1000  # the 1.6 schema caps versions at 1024 characters
    sbom = cyclonedx(log4j(huge), pypi("Jinja2", huge))

    report = scan_sbom(sbom, DATABASE, STANDARD)

    assert report.findings == ()
    assert [i.code for i in report.component_issues] == ["version_not_comparable"] * 2
    assert not report.passed
