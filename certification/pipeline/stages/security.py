"""Stage 4, security scan: the package's CycloneDX SBOM against the offline OSV database.

The rules live in `certification/security/` (pure Python); this stage reads the SBOM, fetches
the advisories for its components and the level's policy (defaults plus the admins' override),
and turns the `ScanReport` into an outcome with one log line per finding.

An empty advisory database does not stop the scan: the SBOM, purls and licences are still
judged, the logs carry a warning, the metrics say `advisories_in_db: 0`, and a non-blocking
`advisory_db_empty` finding shows it to reviewers. Refusing every certification until an
operator imports advisories would punish vendors for a platform gap, and the re-scan that
follows each import (certification/vulndb/rescan.py) catches what such a version contains.
"""

from __future__ import annotations

from typing import Any

from certification.models import StageResult
from certification.pipeline.stages.base import StageContext, StageOutcome
from certification.security.as_json import finding_fields
from certification.security.errors import OsvRecordInvalid, PolicyInvalid, SbomError
from certification.security.licenses import LicenseFinding
from certification.security.policy import SecurityPolicy
from certification.security.sbom import ComponentIssue, Sbom, parse_sbom
from certification.security.scan import (
    ScanReport,
    VulnerabilityFinding,
    sbom_package_keys,
    scan_sbom,
)
from certification.security.severity import Severity
from certification.vulndb import database as vulndb
from edgeplug.timefmt import utc_iso

EMPTY_DATABASE_WARNING = (
    "WARNING: the advisory database is empty (run `manage.py import_osv`), so no vulnerability "
    "can be found; only the SBOM, purls and licences were checked. Certified versions are "
    "re-scanned when advisories are imported."
)


def _blocks(blocking: bool) -> str:
    return " [blocks]" if blocking else ""


def _label(name: str, version: str | None) -> str:
    return f"{name}@{version}" if version else name


def vulnerability_line(finding: VulnerabilityFinding) -> str:
    score = f" {finding.score:.1f}" if finding.score is not None else ""
    aliases = f" ({', '.join(finding.aliases)})" if finding.aliases else ""
    fixed = (
        f"; fixed in {', '.join(finding.fixed_versions)}"
        if finding.fixed_versions
        else "; no fixed version"
    )
    approximate = " (approximate version match)" if finding.approximate else ""
    summary = f": {finding.summary}" if finding.summary else ""
    return (
        f"{finding.severity.upper()}{score} {finding.advisory_id}{aliases} in "
        f"{_label(finding.component, finding.version)}{summary}{fixed}{approximate}"
        f"{_blocks(finding.blocking)}"
    )


def _license_line(finding: LicenseFinding) -> str:
    license_ = f" ({finding.license})" if finding.license else ""
    return (
        f"licence {finding.code}: {_label(finding.component, finding.version)}{license_}: "
        f"{finding.detail}{_blocks(finding.blocking)}"
    )


def _issue_line(issue: ComponentIssue) -> str:
    return (
        f"component {issue.code}: {_label(issue.component, issue.version)}: {issue.detail}"
        f"{_blocks(issue.blocking)}"
    )


_KIND = {
    VulnerabilityFinding: "vulnerability",
    LicenseFinding: "license",
    ComponentIssue: "component_issue",
}


def finding_json(finding: VulnerabilityFinding | LicenseFinding | ComponentIssue) -> dict[str, Any]:
    """A finding as the stage result stores it: its kind, then its fields."""
    return {"kind": _KIND[type(finding)], **finding_fields(finding)}


def highest_severity(findings: tuple[VulnerabilityFinding, ...]) -> str:
    if not findings:
        return str(Severity.NONE)
    return str(max((f.severity for f in findings), key=lambda severity: severity.rank))


def _policy_line(policy: SecurityPolicy) -> str:
    gate = (
        f"fails on {policy.fail_on_severity} and above"
        if policy.fail_on_severity is not None
        else "reports vulnerabilities without failing"
    )
    licences = "enforced" if policy.enforce_licenses else "reported only"
    return f"Policy ({policy.level}): {gate}; licences {licences}."


def _sbom_refused(exc: SbomError) -> StageOutcome:
    errors = list(getattr(exc, "errors", ()))
    logs = "\n".join([f"The SBOM was refused ({exc.code}): {exc.detail}", *errors])
    return StageOutcome.failed(
        exc.code,
        logs,
        findings=[{"kind": exc.code, "detail": exc.detail, "errors": errors, "blocking": True}],
    )


def _outcome(
    sbom: Sbom, report: ScanReport, policy: SecurityPolicy, status: vulndb.DatabaseStatus
) -> StageOutcome:
    imported_at = utc_iso(status.imported_at) if status.imported_at else None
    logs = [
        f"SBOM: CycloneDX {sbom.spec_version}, {report.components} components "
        f"({report.scanned_components} matched against OSV by purl).",
        f"Advisory database: {status.advisories} advisories, last imported "
        f"{imported_at or 'never'}; {report.advisories_considered} concern these components.",
        _policy_line(policy),
    ]
    findings: list[dict[str, Any]] = []
    if status.advisories == 0:
        logs.append(EMPTY_DATABASE_WARNING)
        findings.append(
            {"kind": "advisory_db_empty", "detail": EMPTY_DATABASE_WARNING, "blocking": False}
        )
    logs += [vulnerability_line(f) for f in report.findings]
    logs += [_license_line(f) for f in report.license_findings]
    logs += [_issue_line(i) for i in report.component_issues]
    findings += [
        finding_json(f)
        for f in (*report.findings, *report.license_findings, *report.component_issues)
    ]
    if report.passed:
        logs.append(f"PASS: nothing blocks the {policy.level} security gate.")
    else:
        logs += [f"FAIL: {reason}" for reason in report.reasons]
    metrics = {
        "components": report.components,
        "scanned_components": report.scanned_components,
        "vulnerabilities": len(report.findings),
        "blocking_vulnerabilities": sum(1 for f in report.findings if f.blocking),
        "highest_severity": highest_severity(report.findings),
        "license_findings": len(report.license_findings),
        "component_issues": len(report.component_issues),
        "advisories_in_db": status.advisories,
        "advisories_considered": report.advisories_considered,
        "db_imported_at": imported_at,
        "fail_on_severity": (
            str(policy.fail_on_severity) if policy.fail_on_severity is not None else None
        ),
    }
    return StageOutcome(
        StageResult.PASS if report.passed else StageResult.FAIL,
        logs="\n".join(logs),
        metrics=metrics,
        findings=findings,
        error_code="" if report.passed else report.failure_codes[0],
        vulnerabilities=report.findings,
    )


def run(ctx: StageContext) -> StageOutcome:
    data = ctx.file("sbom")
    if data is None:
        return StageOutcome.failed(
            "sbom_missing",
            "The package has no SBOM: the manifest must name it in sbom.file.",
            findings=[{"kind": "sbom_missing", "blocking": True}],
        )
    try:
        sbom = parse_sbom(data)
    except SbomError as exc:
        return _sbom_refused(exc)
    try:
        policy = vulndb.policy_for(ctx.level)
    except PolicyInvalid as exc:
        return StageOutcome(
            StageResult.ERROR,
            logs=f"The stored security policy override for {ctx.level} is invalid: {exc.detail}",
            error_code=exc.code,
        )
    try:
        advisories = vulndb.advisories_for(sbom_package_keys(sbom))
    except OsvRecordInvalid as exc:
        return StageOutcome(
            StageResult.ERROR,
            logs=f"A stored advisory no longer parses ({exc.detail}); re-import the database.",
            error_code="advisory_db_invalid",
        )
    report = scan_sbom(sbom, advisories, policy)
    return _outcome(sbom, report, policy, vulndb.database_status())
