"""The security scan: match SBOM components to OSV advisories, apply licence and severity gates.

Typical use from the certification stage:

    sbom = parse_sbom(data)                       # SbomError on a bad document
    keys = sbom_package_keys(sbom)                # query stored advisories by these keys
    report = scan_sbom(sbom, advisories, SecurityPolicy.for_level("hardware"))

`advisories` may be the whole database; records whose packages are not in the SBOM are skipped
before any version is compared, so handing over the pre-filtered query result is just faster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from certification.security.licenses import LicenseFinding, evaluate_licenses
from certification.security.osv import OsvAffected, OsvRecord, PackageKey, package_key_for_purl
from certification.security.policy import SecurityPolicy
from certification.security.sbom import ComponentIssue, Sbom, SbomComponent, parse_sbom
from certification.security.severity import Severity, assess_severity
from certification.security.versions import is_comparable, match_affected
from edgeplug.text import shortened

# How many names a reason line lists before it says "and N more".
_REASON_NAMES = 10


@dataclass(frozen=True)
class VulnerabilityFinding:
    component: str
    version: str
    purl: str
    advisory_id: str
    aliases: tuple[str, ...]
    severity: Severity
    score: float | None
    severity_source: str
    vector: str | None
    fixed_versions: tuple[str, ...]
    summary: str
    # Fails the scan under the policy's severity gate.
    blocking: bool
    # The match relied on the generic version ordering (a version the ecosystem could not parse).
    approximate: bool = False


@dataclass(frozen=True)
class ScanReport:
    policy_level: str
    spec_version: str
    components: int
    scanned_components: int
    advisories_considered: int
    findings: tuple[VulnerabilityFinding, ...]
    license_findings: tuple[LicenseFinding, ...]
    component_issues: tuple[ComponentIssue, ...]
    passed: bool
    # Machine-readable: vulnerability_gate, license_denied, component_missing_purl, ...
    failure_codes: tuple[str, ...]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (severities are str enums, tuples serialise as lists)."""
        return asdict(self)


def sbom_package_keys(sbom: Sbom) -> frozenset[PackageKey]:
    """The (ecosystem, name) keys to fetch advisories for."""
    keys = (
        package_key_for_purl(component.package_url)
        for component in sbom.components
        if component.package_url is not None
    )
    return frozenset(key for key in keys if key is not None)


class AdvisoryIndex:
    """Advisories by package key, without withdrawn ones and those for packages not wanted."""

    def __init__(
        self,
        records: Iterable[OsvRecord],
        *,
        keys: frozenset[PackageKey] | None = None,
        now: datetime | None = None,
    ) -> None:
        self._by_key: dict[PackageKey, list[tuple[OsvRecord, OsvAffected]]] = defaultdict(list)
        self.considered = 0
        for record in records:
            if record.is_withdrawn(now):
                continue
            relevant = [
                affected
                for affected in record.affected
                if affected.package is not None and (keys is None or affected.package.key in keys)
            ]
            if relevant:
                self.considered += 1
            for affected in relevant:
                self._by_key[affected.package.key].append((record, affected))  # type: ignore[union-attr]

    def candidates(self, key: PackageKey) -> list[tuple[OsvRecord, OsvAffected]]:
        return self._by_key.get(key, [])


def _issue(component: SbomComponent, code: str, detail: str, *, blocking: bool) -> ComponentIssue:
    return ComponentIssue(
        code, component.name, component.version, component.purl, detail, blocking=blocking
    )


def _merge(existing: VulnerabilityFinding, new: VulnerabilityFinding) -> VulnerabilityFinding:
    # One advisory can list the same package in several affected entries (one per branch).
    stronger = (
        new
        if (new.score or 0, new.severity.rank) > (existing.score or 0, existing.severity.rank)
        else existing
    )
    fixes = tuple(dict.fromkeys(existing.fixed_versions + new.fixed_versions))
    return replace(
        stronger,
        fixed_versions=fixes,
        blocking=existing.blocking or new.blocking,
        approximate=existing.approximate and new.approximate,
    )


class _Scan:
    def __init__(self, sbom: Sbom, index: AdvisoryIndex, policy: SecurityPolicy) -> None:
        self.sbom = sbom
        self.index = index
        self.policy = policy
        self.findings: dict[tuple[str, str], VulnerabilityFinding] = {}
        self.licenses: list[LicenseFinding] = []
        self.issues = [replace(i, blocking=policy.require_purls) for i in sbom.issues]
        self.scanned = 0

    def component(self, component: SbomComponent) -> None:
        self.licenses.extend(evaluate_licenses(component, self.policy))
        purl = component.package_url
        if purl is None:
            return  # already reported as component_missing_purl / invalid_purl
        key = package_key_for_purl(purl)
        if key is None:
            self.issues.append(
                _issue(
                    component,
                    "unsupported_ecosystem",
                    f"purl type {purl.type!r} has no OSV ecosystem; not matched",
                    blocking=False,
                )
            )
            return
        # The purl's version is the one tools match on; the component field is the fallback.
        version = purl.version or component.version
        unverifiable = self.policy.fail_on_unverifiable_versions
        if not version:
            self.issues.append(
                _issue(component, "component_missing_version", "no version", blocking=unverifiable)
            )
            return
        self.scanned += 1
        if not is_comparable(version, key.ecosystem):
            self.issues.append(
                _issue(
                    component,
                    "version_not_comparable",
                    f"{shortened(version, 60)!r} is not a {key.ecosystem} version; ranges are "
                    "compared with the generic ordering, or not at all if it is over-long",
                    blocking=unverifiable,
                )
            )
        for record, affected in self.index.candidates(key):
            self.advisory(component, version, record, affected)

    def advisory(
        self, component: SbomComponent, version: str, record: OsvRecord, affected: OsvAffected
    ) -> None:
        match = match_affected(version, affected)
        if match is None:
            return
        assessment = assess_severity(record, affected)
        finding = VulnerabilityFinding(
            component=component.name,
            version=version,
            purl=component.purl or "",
            advisory_id=record.id,
            aliases=record.aliases,
            severity=assessment.severity,
            score=assessment.score,
            severity_source=assessment.source,
            vector=assessment.vector,
            fixed_versions=match.fixed_versions,
            summary=record.summary,
            blocking=self.policy.blocks(assessment.severity),
            approximate=match.approximate,
        )
        key = (finding.purl, record.id)
        self.findings[key] = (
            _merge(self.findings[key], finding) if key in self.findings else finding
        )

    def report(self) -> ScanReport:
        for component in self.sbom.components:
            self.component(component)
        findings = sorted(
            self.findings.values(),
            key=lambda f: (
                -self.policy.effective_severity(f.severity).rank,
                f.component,
                f.advisory_id,
            ),
        )
        codes, reasons = _gate_outcome(self.policy, findings, self.licenses, self.issues)
        return ScanReport(
            policy_level=str(self.policy.level),
            spec_version=self.sbom.spec_version,
            components=len(self.sbom.components),
            scanned_components=self.scanned,
            advisories_considered=self.index.considered,
            findings=tuple(findings),
            license_findings=tuple(self.licenses),
            component_issues=tuple(self.issues),
            passed=not codes,
            failure_codes=tuple(codes),
            reasons=tuple(reasons),
        )


def _names(items: list[str]) -> str:
    unique = list(dict.fromkeys(items))
    shown = ", ".join(unique[:_REASON_NAMES])
    more = len(unique) - _REASON_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


def _gate_outcome(
    policy: SecurityPolicy,
    findings: list[VulnerabilityFinding],
    licenses: list[LicenseFinding],
    issues: list[ComponentIssue],
) -> tuple[list[str], list[str]]:
    codes: list[str] = []
    reasons: list[str] = []
    blocking = [f for f in findings if f.blocking]
    if blocking and policy.fail_on_severity is not None:
        codes.append("vulnerability_gate")
        reasons.append(
            f"{len(blocking)} known vulnerabilit{'y' if len(blocking) == 1 else 'ies'} at or above "
            f"{policy.fail_on_severity} (the {policy.level} gate): "
            + _names([f"{f.advisory_id} in {f.component}@{f.version}" for f in blocking])
        )
    grouped: dict[str, list[str]] = defaultdict(list)
    for license_finding in licenses:
        if license_finding.blocking:
            label = f"{license_finding.component} ({license_finding.license or 'none'})"
            grouped[license_finding.code].append(label)
    for issue in issues:
        if issue.blocking:
            grouped[issue.code].append(issue.purl or issue.component)
    for code, labels in grouped.items():
        codes.append(code)
        reasons.append(f"{code}: {_names(labels)}")
    return codes, reasons


def scan_sbom(
    sbom: bytes | Sbom,
    advisories: Iterable[OsvRecord],
    policy: SecurityPolicy,
    *,
    now: datetime | None = None,
) -> ScanReport:
    """Scan an SBOM (bytes of `sbom.cdx.json`, or already parsed) against OSV advisories.

    Raises an SbomError for a document that is not a valid CycloneDX 1.4-1.6 SBOM; everything
    else (vulnerable components, licences, components without purls) is in the report, whose
    `passed` and `reasons` follow `policy`. Advisories withdrawn before `now` are ignored.
    """
    parsed = sbom if isinstance(sbom, Sbom) else parse_sbom(sbom)
    index = AdvisoryIndex(advisories, keys=sbom_package_keys(parsed), now=now)
    return _Scan(parsed, index, policy).report()
