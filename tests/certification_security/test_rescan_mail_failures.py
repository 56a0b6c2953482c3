"""When a re-scan's mails fail part way (the mail server answers 451 to one of them, the worker
dies between two), what went out is never sent again, what did not goes out on the next
attempt, and the failure is the task's, not silence."""

import pytest

from certification.errors import FindingsNotMailed
from certification.models import ScanFinding
from certification.vulndb import rescan
from certification.vulndb.tasks import rescan_certified_versions
from edgeplug.mail import DeliveryDeferred

from .conftest import WorkerLost

pytestmark = pytest.mark.django_db

OTHER_VENDOR = "bolt-dynamics"


def mail_server(monkeypatch, refuse, error: BaseException | None = None):
    """Sends through the test outbox, except the messages `refuse(to)` picks: those raise
    `error`, by default what edgeplug.mail makes of the mail server's 451 (try again later)."""
    real = rescan.deliver

    def send(message, what):
        if refuse(message.to):
            raise error or DeliveryDeferred("SMTPDataError: (451, b'4.3.0 try again later')")
        return real(message, what)

    monkeypatch.setattr(rescan, "deliver", send)


def to_vendor(mailoutbox, vendor):
    return [m for m in mailoutbox if m.to == [vendor.membership.user.email]]


def to_reviewers(mailoutbox, reviewer):
    return [m for m in mailoutbox if m.to == [reviewer.email]]


def test_a_failed_reviewer_digest_fails_the_task_and_never_mails_the_vendor_again(
    vendor, vulnerable, reviewer, mailoutbox, monkeypatch
):
    vulnerable(vendor)
    with monkeypatch.context() as patched:
        mail_server(patched, lambda to: to == [reviewer.email])
        with pytest.raises(FindingsNotMailed, match=r"reviewers: SMTPDataError: \(451"):
            rescan_certified_versions()

    assert len(to_vendor(mailoutbox, vendor)) == 1
    finding = ScanFinding.objects.get()
    assert finding.vendor_notified_at is not None
    assert finding.reviewers_notified_at is None

    report = rescan_certified_versions()

    assert len(to_vendor(mailoutbox, vendor)) == 1
    (digest,) = to_reviewers(mailoutbox, reviewer)
    assert "The vendors have been told." in digest.body
    assert report["notified_findings"] == 1
    finding.refresh_from_db()
    assert finding.reviewers_notified_at is not None


def test_one_vendor_whose_mail_fails_holds_back_neither_the_others_nor_the_reviewers(
    vendor, make_vendor, vulnerable, reviewer, mailoutbox, monkeypatch
):
    other = make_vendor(OTHER_VENDOR)
    vulnerable(vendor, other)
    with monkeypatch.context() as patched:
        mail_server(patched, lambda to: to == [vendor.membership.user.email])
        with pytest.raises(FindingsNotMailed, match=f"{vendor.tenant.slug}: SMTPDataError"):
            rescan_certified_versions()

    assert to_vendor(mailoutbox, vendor) == []
    assert len(to_vendor(mailoutbox, other)) == 1
    (digest,) = to_reviewers(mailoutbox, reviewer)
    assert "2 new vulnerabilities" in digest.subject
    assert "The vendors have been told, except:" in digest.body
    assert (
        f"  - {vendor.tenant.slug}: their mail failed and is sent again on the next attempt"
        in digest.body
    )
    assert f"  - {OTHER_VENDOR}" not in digest.body

    rescan_certified_versions()

    assert len(to_vendor(mailoutbox, vendor)) == 1
    assert len(to_vendor(mailoutbox, other)) == 1
    assert len(to_reviewers(mailoutbox, reviewer)) == 1
    assert not ScanFinding.objects.filter(vendor_notified_at__isnull=True).exists()
    assert not ScanFinding.objects.filter(reviewers_notified_at__isnull=True).exists()


def test_a_worker_lost_between_two_mails_keeps_the_first_one_sent(
    vendor, make_vendor, vulnerable, reviewer, mailoutbox, monkeypatch
):
    other = make_vendor(OTHER_VENDOR)
    vulnerable(vendor, other)

    with monkeypatch.context() as patched:
        mail_server(patched, lambda to: to == [other.membership.user.email], WorkerLost())
        with pytest.raises(WorkerLost):
            rescan_certified_versions()
    assert len(to_vendor(mailoutbox, vendor)) == 1

    rescan_certified_versions()  # the redelivered task

    assert len(to_vendor(mailoutbox, vendor)) == 1
    assert len(to_vendor(mailoutbox, other)) == 1
    assert len(to_reviewers(mailoutbox, reviewer)) == 1


def test_the_task_retries_a_refused_mail_and_sends_every_message_once(
    vendor, vulnerable, reviewer, mailoutbox, monkeypatch
):
    vulnerable(vendor)
    refused = []

    def digest_once(to):
        if to == [reviewer.email] and not refused:
            refused.append(to)
            return True
        return False

    mail_server(monkeypatch, digest_once)

    # Eager apply runs the retry at once (no countdown).
    result = rescan_certified_versions.apply()

    assert result.successful(), result.result
    assert refused == [[reviewer.email]]
    assert len(to_vendor(mailoutbox, vendor)) == 1
    assert len(to_reviewers(mailoutbox, reviewer)) == 1


def test_a_retry_waiting_for_the_mail_server_is_never_handed_to_a_second_worker(settings):
    assert rescan_certified_versions.retry_backoff_max < settings.CELERY_VISIBILITY_TIMEOUT_S
