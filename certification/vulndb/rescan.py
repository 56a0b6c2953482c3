"""Re-scan certified versions after the advisory database changes, and tell vendors and reviewers.

Each certified version's SBOM is scanned again with the policy of the level it was certified
at. A vulnerability not recorded for that version before becomes a `ScanFinding` (one audit
event `vulnerability_found` per version); findings not yet announced are then mailed, one
message per vendor to its admins and developers and one digest to the reviewers, each marked
sent in its own transaction as its mail goes out, so a failed mail re-sends none of the others.
A message with nobody to go to is marked so instead, and so is one the mail server refused for
good (edgeplug.mail's rule: not tried again); the digest names the vendors not told.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from certification.errors import FindingsNotMailed
from certification.models import (
    Advisory,
    CertificationResult,
    CertificationRun,
    Level,
    RunStatus,
    ScanFinding,
)
from certification.pipeline import levels
from certification.security.as_json import finding_fields
from certification.security.errors import SecurityScanError
from certification.security.sbom import Sbom, parse_sbom
from certification.security.scan import VulnerabilityFinding, sbom_package_keys, scan_sbom
from certification.vulndb import database as vulndb
from edgeplug.accounts.models import User
from edgeplug.audit.services import record_change
from edgeplug.core.chunks import in_id_chunks
from edgeplug.core.locking import locked
from edgeplug.mail import DeliveryDeferred, DeliveryRefused, deliver
from edgeplug.tenancy.models import Membership, Role, StaffGroup
from edgeplug.text import one_terminal_line
from marketplace.models import AgentVersion, CertificationStatus
from marketplace.packageformat import PackageError
from marketplace.storage import PackageUnreadable, load_stored_package

logger = logging.getLogger(__name__)

# Who hears about a vulnerable version on the vendor's side.
VENDOR_ROLES = (Role.ADMIN, Role.DEVELOPER)

# Certified versions read at a time (each chunk a plain query by id, no cursor held while
# they are re-scanned: ``edgeplug.core.chunks``).
RESCAN_CHUNK = 500


@dataclass
class RescanReport:
    versions: int = 0
    new_findings: int = 0
    versions_with_new_findings: int = 0
    notified_findings: int = 0
    # "vendor/agent@version: code" for versions whose SBOM could not be read this time.
    unreadable: list[str] = field(default_factory=list)


def _read_sbom(version: AgentVersion) -> Sbom:
    stored = load_stored_package(version.storage_name)
    if stored.error is not None:
        raise stored.error
    package = stored.package
    return parse_sbom(package.read(package.manifest["sbom"]["file"]))


def _certifying_run(version: AgentVersion) -> CertificationRun | None:
    return (
        CertificationRun.objects.filter(version=version, status=RunStatus.PASSED)
        .order_by("-finished_at", "-id")
        .first()
    )


def _known_at_certification(run: CertificationRun | None) -> set[tuple[str, str]]:
    """(advisory id, purl) pairs the certification run's own security stage already listed."""
    if run is None:
        return set()
    result = CertificationResult.objects.filter(run=run, test_suite=levels.SECURITY).first()
    if result is None:
        return set()
    return {
        (finding.get("advisory_id", ""), finding.get("purl", ""))
        for finding in result.findings
        if isinstance(finding, dict) and finding.get("kind") == "vulnerability"
    }


# What the audit event records of each newly found vulnerability.
_AUDITED = ("advisory_id", "aliases", "component", "version", "purl", "severity", "fixed_versions")


def _finding_details(row: ScanFinding, finding: VulnerabilityFinding) -> dict:
    return {**finding_fields(finding, *_AUDITED), "blocking": row.blocking}


def _rows(
    version: AgentVersion, findings: list[VulnerabilityFinding], known
) -> list[tuple[ScanFinding, VulnerabilityFinding]]:
    """A row for each finding whose advisory is stored (imports never delete one), marked
    known at certification when ``known(finding)``."""
    advisories = dict(
        Advisory.objects.filter(osv_id__in={f.advisory_id for f in findings}).values_list(
            "osv_id", "pk"
        )
    )
    return [
        (
            ScanFinding(
                tenant_id=version.tenant_id,
                version=version,
                advisory_id=advisories[finding.advisory_id],
                component=finding.component[:400],
                component_version=finding.version[:256],
                purl=finding.purl[:1000],
                severity=str(finding.severity),
                score=vulndb.stored_score(finding.score),
                fixed_versions=list(finding.fixed_versions),
                blocking=finding.blocking,
                known_at_certification=known(finding),
            ),
            finding,
        )
        for finding in findings
        if finding.advisory_id in advisories
    ]


def record_findings_at_certification(
    run: CertificationRun, findings: tuple[VulnerabilityFinding, ...]
) -> None:
    """Every vulnerability a certification run's security stage found, as findings of its
    version known at certification, so that no re-scan announces them: the run's result keeps
    at most MAX_STORED_FINDINGS findings (certification/pipeline/findings.py), and one it left
    out was announced as new by the first re-scan (until 2026-12-07), nothing new found. One
    row per finding, as the re-scan stores one for each finding it meets anyway.

    Called with the run's row locked, so the version's is not taken (the lock order is version
    then run, docs/architecture.md): a row a re-scan stored meanwhile is kept as it is."""
    rows = _rows(run.version, list(findings), lambda finding: True)
    ScanFinding.objects.bulk_create(
        [row for row, _ in rows], batch_size=1_000, ignore_conflicts=True
    )


def record_new_findings(
    version: AgentVersion, findings: tuple[VulnerabilityFinding, ...], run: CertificationRun | None
) -> list[ScanFinding]:
    """Store the findings not yet recorded for `version`; audit the ones worth announcing:
    those its certification did not find (recorded then, or, for a version certified before
    2026-12-07, listed in the run's stored result)."""
    with transaction.atomic():
        # Two re-scans at once must not both take the same finding for new.
        locked(version)
        seen = set(
            ScanFinding.objects.filter(version=version).values_list("advisory__osv_id", "purl")
        )
        fresh = [f for f in findings if (f.advisory_id, f.purl) not in seen]
        if not fresh:
            return []
        known = _known_at_certification(run)
        pairs = _rows(version, fresh, lambda finding: (finding.advisory_id, finding.purl) in known)
        ScanFinding.objects.bulk_create([row for row, _ in pairs])
        announced = [(r, f) for r, f in pairs if not r.known_at_certification]
        if announced:
            record_change(
                "vulnerability_found",
                version,
                details={
                    "version": version.pk,
                    "level": run.level if run else "",
                    "findings": [_finding_details(r, f) for r, f in announced],
                },
            )
        return [row for row, _ in pairs]


def rescan_version(version: AgentVersion) -> list[ScanFinding]:
    """Scan one certified version again; PackageUnreadable, PackageError or SecurityScanError
    when its package or SBOM cannot be read (or a stored policy override no longer applies)."""
    sbom = _read_sbom(version)
    run = _certifying_run(version)
    policy = vulndb.policy_for(run.level if run else Level.STANDARD)
    report = scan_sbom(sbom, vulndb.advisories_for(sbom_package_keys(sbom)), policy)
    return record_new_findings(version, report.findings, run)


def rescan_certified_versions() -> RescanReport:
    """Re-scan every certified version, record new findings, then notify what is unannounced.

    The versions are read ``RESCAN_CHUNK`` at a time by id, each version committing its own
    findings: one certified meanwhile is re-scanned now if its id is past the ones read, else
    by the next re-scan."""
    report = RescanReport()
    versions = AgentVersion.objects.filter(
        certification_status=CertificationStatus.CERTIFIED
    ).select_related("agent__tenant", "tenant")
    for version in (v for chunk in in_id_chunks(versions, RESCAN_CHUNK) for v in chunk):
        report.versions += 1
        try:
            created = rescan_version(version)
        except (PackageUnreadable, PackageError, SecurityScanError) as exc:
            # One unreadable package must not hide the findings of all the others.
            code = exc.code
            logger.warning("re-scan of %s failed: %s: %s", version, code, exc)
            report.unreadable.append(f"{version}: {code}")
            continue
        announced = [row for row in created if not row.known_at_certification]
        report.new_findings += len(announced)
        report.versions_with_new_findings += bool(announced)
    report.notified_findings = notify_new_findings()
    return report


# --- notifications ---------------------------------------------------------------------------


def _vendor_recipients(tenant_id: int) -> list[str]:
    """The vendor's active admins and developers with an email address, while the vendor is
    active (``Membership.objects.live``): a deactivated vendor's members can no longer sign in
    to it to upload the fix the message asks for."""
    members = Membership.objects.live().filter(tenant_id=tenant_id, role__in=VENDOR_ROLES)
    return sorted(
        User.objects.filter(memberships__in=members, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


def _reviewer_recipients() -> list[str]:
    return sorted(
        User.objects.filter(groups__name=StaffGroup.REVIEWERS, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


def _mail_line(row: ScanFinding) -> str:
    aliases = f" ({', '.join(row.advisory.aliases)})" if row.advisory.aliases else ""
    score = f" {row.score}" if row.score is not None else ""
    fixed = f"fixed in {', '.join(row.fixed_versions)}" if row.fixed_versions else "no fix yet"
    gate = "; fails the gate of its certification level" if row.blocking else ""
    summary = f": {row.advisory.summary}" if row.advisory.summary else ""
    # One line whatever the row holds: a name stored before SBOMs' control characters were
    # refused (sbom_control_character) wrote lines of its own into the message.
    return one_terminal_line(
        f"  - {row.severity.upper()}{score} {row.advisory.osv_id}{aliases} in "
        f"{row.component} {row.component_version}{summary} ({fixed}{gate})"
    )


def _by_version(rows: list[ScanFinding]) -> list[str]:
    lines: list[str] = []
    grouped: dict[int, list[ScanFinding]] = defaultdict(list)
    for row in rows:
        grouped[row.version_id].append(row)
    for version_rows in grouped.values():
        lines.append(f"{version_rows[0].version}:")
        lines.extend(_mail_line(row) for row in version_rows)
        lines.append("")
    return lines


def _vendor_message(rows: list[ScanFinding]) -> tuple[str, str]:
    count = len(rows)
    subject = f"[EdgePlug] {count} new vulnerabilit{'y' if count == 1 else 'ies'} in your agents"
    body = [
        "The EdgePlug vulnerability database was updated, and a re-scan of your certified agent",
        "versions found advisories that concern components listed in their SBOMs:",
        "",
        *_by_version(rows),
        "Update the affected components, then upload a new version and submit it for",
        "certification.",
        *_reviewers_told(rows),
    ]
    return subject, "\n".join(body)


def _reviewers_told(rows: list[ScanFinding]) -> list[str]:
    """What the vendor's message says of the reviewers, sent before their digest: only what is
    so (a digest already sent, or one to come to reviewers there are)."""
    if all(row.reviewers_notified_at for row in rows):
        return ["EdgePlug's reviewers have been told about these findings too."]
    if (
        not any(row.reviewers_nobody_to_mail_at or row.reviewers_refusal for row in rows)
        and _reviewer_recipients()
    ):
        return ["EdgePlug's reviewers are sent these findings too."]
    return []


def _vendors_told(rows: list[ScanFinding]) -> list[str]:
    """What the digest says of the vendors, whose messages went (or did not) just before."""
    untold: dict[str, str] = {}
    for row in rows:
        if why := _not_told(row):
            untold.setdefault(row.tenant.slug, why)
    if not untold:
        return ["The vendors have been told."]
    told = any(row.vendor_notified_at is not None for row in rows)
    return [
        "The vendors have been told, except:" if told else "No vendor has been told:",
        *(f"  - {slug}: {untold[slug]}" for slug in sorted(untold)),
    ]


def _not_told(row: ScanFinding) -> str:
    """Why the digest cannot say the finding's vendor was told (empty: it was)."""
    if row.vendor_nobody_to_mail_at is not None and not row.tenant.is_active:
        return "nobody to tell (the vendor is deactivated: its members cannot sign in to it)"
    if row.vendor_nobody_to_mail_at is not None:
        return "nobody to tell (no active admin or developer with an email address)"
    if row.vendor_notified_at is None and row.vendor_refusal:
        return f"the mail server refused their mail for good, not sent again ({row.vendor_refusal})"
    if row.vendor_notified_at is None:
        return "their mail failed and is sent again on the next attempt"
    if row.vendor_refusal:
        return f"told, but the mail server refused some of them ({row.vendor_refusal})"
    return ""


def _reviewer_message(rows: list[ScanFinding]) -> tuple[str, str]:
    count = len(rows)
    vendors = sorted({row.tenant.slug for row in rows})
    subject = (
        f"[EdgePlug] Re-scan: {count} new vulnerabilit{'y' if count == 1 else 'ies'} in "
        f"certified versions of {', '.join(vendors)}"
    )
    body = [
        "A re-scan after the vulnerability database update found new advisories for certified",
        "agent versions.",
        *_vendors_told(rows),
        "",
        *_by_version(rows),
        "Review whether the versions whose findings fail their level's gate should stay listed.",
    ]
    return subject, "\n".join(body)


def _unannounced() -> QuerySet[ScanFinding]:
    return ScanFinding.objects.filter(known_at_certification=False)


def _lock(findings: QuerySet[ScanFinding]) -> list[ScanFinding]:
    """The findings, locked for this transaction; those another re-scan is mailing right now
    are skipped (it marks them)."""
    return list(
        findings.select_for_update(skip_locked=True, of=("self",))
        .select_related("advisory", "tenant", "version__agent__tenant")
        .order_by("tenant_id", "version_id", "-score", "pk")
    )


def _mail_vendor(tenant_id: int) -> list[int]:
    """Mail one vendor its findings not yet mailed to it (``vendor_notified_at``)."""
    return _mail_and_mark(
        _unannounced().filter(tenant_id=tenant_id),
        "vendor",
        lambda: _vendor_recipients(tenant_id),
        _vendor_message,
    )


def _mail_reviewers() -> list[int]:
    """Mail the reviewers one digest of the findings not yet in a digest."""
    return _mail_and_mark(_unannounced(), "reviewers", _reviewer_recipients, _reviewer_message)


def _pending(findings, side: str):
    """The findings whose message to ``side`` (``vendor``, ``reviewers``) is still due."""
    return findings.filter(
        **{
            f"{side}_notified_at__isnull": True,
            f"{side}_nobody_to_mail_at__isnull": True,
            f"{side}_refusal": "",
        }
    )


def _mail_and_mark(findings, side: str, recipients, message) -> list[int]:
    """Mail ``message(rows)`` to ``recipients()`` about the ``findings`` whose message to
    ``side`` is still due, and mark them in the same transaction: ``<side>_notified_at`` once
    it went out (no later failure sends it to these recipients again), or, with nobody to
    mail, ``<side>_nobody_to_mail_at`` (nothing was sent, and nothing is said to have been).
    A refusal for good is kept in ``<side>_refusal``: of the whole message (not tried again,
    the server would refuse it again), or of some recipients (notified: it went to the
    others). ``DeliveryDeferred`` is raised, nothing marked. Returns the findings mailed."""
    with transaction.atomic():
        rows = _lock(_pending(findings, side))
        if not rows:
            return []
        marks, refusal, missed = {}, None, 0
        if to := recipients():
            subject, body = message(rows)
            try:
                delivered = deliver(
                    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, to),
                    f"the re-scan's mail to the {side}",
                )
                refusal, missed = delivered.refusal, len(delivered.refused)
                marks[f"{side}_notified_at"] = timezone.now()
            except DeliveryRefused as error:
                refusal, missed = error, len(to)
        else:
            marks[f"{side}_nobody_to_mail_at"] = timezone.now()
        if refusal:
            # Not the detail: it names each refused address, kept on the findings only.
            logger.warning(
                "re-scan mail to %s refused for %d of %d recipient(s): %s",
                rows[0].tenant.slug if side == "vendor" else "the reviewers",
                missed,
                len(to),
                refusal.code,
            )
            marks[f"{side}_refusal"] = refusal.detail
        ScanFinding.objects.filter(pk__in=[row.pk for row in rows]).update(**marks)
    return [row.pk for row in rows] if f"{side}_notified_at" in marks else []


def notify_new_findings() -> int:
    """Mail every finding not yet announced; returns how many it mailed (to anyone).

    Each vendor's message and the reviewers' digest is its own transaction, which marks its
    findings (`vendor_notified_at`, `reviewers_notified_at`) once its mail went out, or the
    mail server's refusal for good (`vendor_refusal`, `reviewers_refusal`). A mail that may
    pass later (``DeliveryDeferred``) leaves only its own findings unmarked: the other mails
    still go out, and then FindingsNotMailed is raised, so the task fails (and retries) and the
    next attempt sends only what is still unmarked.
    """
    mailed: set[int] = set()
    failures: list[str] = []
    first_error: DeliveryDeferred | None = None
    vendors = (
        _pending(_unannounced(), "vendor")
        .order_by("tenant_id")
        .values_list("tenant_id", "tenant__slug")
        .distinct()
    )
    groups = [(slug, partial(_mail_vendor, tenant_id)) for tenant_id, slug in vendors]
    for group, send in [*groups, ("reviewers", _mail_reviewers)]:
        try:
            mailed.update(send())
        except DeliveryDeferred as exc:  # a 4xx, a dropped or refused connection
            logger.warning("re-scan findings could not be mailed to %s: %s", group, exc)
            failures.append(f"{group}: {exc}")
            first_error = first_error or exc
    if failures:
        raise FindingsNotMailed(
            f"Re-scan findings could not be mailed to {'; '.join(failures)}. They stay "
            f"unannounced for the next attempt; the {len(mailed)} findings mailed are marked."
        ) from first_error
    return len(mailed)
