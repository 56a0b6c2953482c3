"""After the advisory database changes, certified versions are re-scanned and new findings are
flagged once to the vendor's admins and developers, to reviewers, and in the audit log."""

import pytest
from django.core.management import call_command

from certification.errors import FindingsNotMailed
from certification.models import ScanFinding
from certification.pipeline.findings import MAX_STORED_FINDINGS
from certification.vulndb import rescan
from certification.vulndb.tasks import rescan_certified_versions
from edgeplug.audit.models import AuditEvent
from edgeplug.mail import DeliveryDeferred
from marketplace.storage import delete_package
from tests.factories import MembershipFactory, UserFactory
from tests.security import advisories
from tests.security.sboms import component

from .conftest import (
    LOG4J_VULNERABLE,
    URLLIB3_PATCHED,
    URLLIB3_VULNERABLE,
    sbom_package,
    write_osv_dir,
)

pytestmark = pytest.mark.django_db

URLLIB3_ADVISORY = advisories.URLLIB3_COOKIE["id"]


def import_osv(tmp_path, *records, name="update"):
    call_command("import_osv", str(write_osv_dir(tmp_path / name, records)), stdout=None)


def test_new_advisory_is_flagged_to_vendor_reviewers_and_audit(
    tmp_path,
    vendor,
    certified,
    reviewer,
    mailoutbox,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    import_osv(tmp_path, advisories.REQUESTS_PROXY_AUTH, name="initial")
    version = certified(URLLIB3_VULNERABLE)
    operator = MembershipFactory(tenant=vendor.tenant, role="operator", user=UserFactory())
    assert ScanFinding.objects.count() == 0

    # The import queues the re-scan on commit; eager, it runs right here.
    with django_capture_on_commit_callbacks(execute=True):
        import_osv(tmp_path, advisories.URLLIB3_COOKIE)

    finding = ScanFinding.objects.get()
    assert (finding.version, finding.tenant) == (version, vendor.tenant)
    assert finding.advisory.osv_id == URLLIB3_ADVISORY
    assert (finding.component, finding.component_version) == ("urllib3", "1.26.16")
    assert (finding.severity, finding.fixed_versions, finding.blocking) == (
        "medium",
        ["1.26.17"],
        False,
    )
    assert finding.vendor_notified_at is not None
    assert finding.reviewers_notified_at is not None

    vendor_mail, reviewer_mail = mailoutbox
    assert vendor_mail.to == [vendor.membership.user.email]
    assert operator.user.email not in vendor_mail.to
    assert reviewer_mail.to == [reviewer.email]
    for mail in (vendor_mail, reviewer_mail):
        assert "1 new vulnerability" in mail.subject
        assert str(version) in mail.body
        assert f"MEDIUM 5.9 {URLLIB3_ADVISORY} (CVE-2023-43804) in urllib3 1.26.16" in mail.body
        assert "fixed in 1.26.17" in mail.body
    assert vendor.tenant.slug in reviewer_mail.subject

    event = AuditEvent.objects.get(action="vulnerability_found")
    assert event.tenant == vendor.tenant
    assert event.target == str(version)
    assert [f["advisory_id"] for f in event.details["findings"]] == [URLLIB3_ADVISORY]


def test_second_rescan_does_not_notify_again(tmp_path, certified, reviewer, mailoutbox):
    certified(URLLIB3_VULNERABLE)
    import_osv(tmp_path, advisories.URLLIB3_COOKIE)

    first = rescan_certified_versions.apply().get()
    second = rescan_certified_versions.apply().get()

    assert (first["new_findings"], first["notified_findings"]) == (1, 1)
    assert (second["new_findings"], second["notified_findings"]) == (0, 0)
    assert len(mailoutbox) == 2
    assert AuditEvent.objects.filter(action="vulnerability_found").count() == 1
    assert ScanFinding.objects.count() == 1


@pytest.mark.parametrize("before", [False, True], ids=["certified-now", "certified-before-1207"])
def test_finding_the_certification_scan_already_listed_is_not_announced(
    tmp_path, certified, reviewer, mailoutbox, before
):
    """Known from the findings stored at certification, or, for a version certified before
    2026-12-07, from the list in its run's result."""
    import_osv(tmp_path, advisories.URLLIB3_COOKIE)
    certified(URLLIB3_VULNERABLE, before=before)  # passes at standard, the finding listed

    report = rescan_certified_versions()

    finding = ScanFinding.objects.get()
    assert finding.known_at_certification is True
    assert report["new_findings"] == 0
    assert mailoutbox == []
    assert not AuditEvent.objects.filter(action="vulnerability_found").exists()


def test_findings_the_certification_scan_found_but_did_not_store_are_not_announced(
    tmp_path, certified, reviewer, mailoutbox
):
    """A result stores at most MAX_STORED_FINDINGS findings; the ones past them were found by
    the certification scan all the same (its verdict and summary count them), so no re-scan
    that finds nothing new announces them, the first no more than the next."""
    import_osv(tmp_path, advisories.URLLIB3_COOKIE)
    components = MAX_STORED_FINDINGS + 5
    version = certified(
        *(component("urllib3", f"1.0.{i}", f"pkg:pypi/urllib3@1.0.{i}") for i in range(components))
    )
    summary = version.certification_runs.get().results.get().findings_summary
    assert summary == {"total": components, "left_out": {"medium": 5}}

    reports = [rescan_certified_versions.apply().get() for _ in range(2)]

    assert [(r["new_findings"], r["notified_findings"]) for r in reports] == [(0, 0), (0, 0)]
    assert [mail.subject for mail in mailoutbox] == []
    assert not AuditEvent.objects.filter(action="vulnerability_found").exists()
    recorded = ScanFinding.objects.filter(version=version)
    assert (recorded.count(), recorded.filter(known_at_certification=True).count()) == (
        components,
        components,
    )


def test_finding_that_breaks_the_level_gate_is_marked_blocking(
    tmp_path, certified, reviewer, mailoutbox
):
    certified(LOG4J_VULNERABLE, level="hardware")
    import_osv(tmp_path, advisories.LOG4SHELL)

    rescan_certified_versions()

    finding = ScanFinding.objects.get()
    assert (finding.severity, finding.blocking) == ("critical", True)
    assert "fails the gate of its certification level" in mailoutbox[0].body
    assert AuditEvent.objects.get(action="vulnerability_found").details["level"] == "hardware"


def test_only_certified_versions_are_rescanned(tmp_path, vendor, certified, mailoutbox):
    certified(URLLIB3_PATCHED, name="clean-agent")
    vendor.upload(sbom_package(URLLIB3_VULNERABLE, name="never-certified"))
    import_osv(tmp_path, advisories.URLLIB3_COOKIE)

    report = rescan_certified_versions()

    assert report["versions"] == 1
    assert ScanFinding.objects.count() == 0
    assert mailoutbox == []


def test_unreadable_package_is_reported_and_the_others_still_scanned(
    tmp_path, certified, mailoutbox
):
    lost = certified(URLLIB3_VULNERABLE, name="lost-agent")
    kept = certified(URLLIB3_VULNERABLE, name="kept-agent")
    delete_package(lost.storage_name)
    import_osv(tmp_path, advisories.URLLIB3_COOKIE)

    report = rescan_certified_versions()

    assert report["unreadable"] == [f"{lost}: package_unreadable"]
    assert [f.version for f in ScanFinding.objects.all()] == [kept]


def test_mail_failure_leaves_the_findings_to_announce_next_time(
    tmp_path, certified, reviewer, mailoutbox, monkeypatch
):
    certified(URLLIB3_VULNERABLE)
    import_osv(tmp_path, advisories.URLLIB3_COOKIE)

    def refuse(*args, **kwargs):
        raise DeliveryDeferred("ConnectionRefusedError: mail server down")

    with monkeypatch.context() as patched:
        patched.setattr(rescan, "deliver", refuse)
        with pytest.raises(FindingsNotMailed, match="mail server down"):
            rescan_certified_versions()
    finding = ScanFinding.objects.get()
    assert (finding.vendor_notified_at, finding.reviewers_notified_at) == (None, None)

    report = rescan_certified_versions()

    assert (report["new_findings"], report["notified_findings"]) == (0, 1)
    assert len(mailoutbox) == 2
    finding.refresh_from_db()
    assert finding.vendor_notified_at is not None
    assert finding.reviewers_notified_at is not None
