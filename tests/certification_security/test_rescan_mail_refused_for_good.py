"""A re-scan's mail the mail server refuses for good (a 550 at RCPT: the vendor developer's
mailbox does not exist), through a real SMTP server (aiosmtpd on loopback): every try would
meet it again, so it is tried once, kept on the findings, and the reviewers' digest says it
was refused rather than promising it again (edgeplug.mail's rule of every email). A server
that refuses some of a vendor's members and takes the mail for the others told the vendor,
and the digest names whom it refused. A 4xx is still retried by the task."""

import pytest

from certification.errors import FindingsNotMailed
from certification.models import ScanFinding
from certification.vulndb.tasks import rescan_certified_versions
from tests.factories import MembershipFactory, UserFactory
from tests.invoices.conftest import smtp_inbox  # noqa: F401 - the loopback SMTP server

pytestmark = pytest.mark.django_db

NO_MAILBOX = "550 5.1.1 mailbox unavailable"


def digests(inbox) -> list[str]:
    return [m.get_content() for m in inbox.messages if "Re-scan" in m["Subject"]]


@pytest.fixture
def refused(vendor, vulnerable, reviewer, smtp_inbox):  # noqa: F811
    """refused(answer): the vendor has a finding to announce, and the mail server answers
    ``answer`` to its developer's address at RCPT; returns that address."""

    def refuse(answer: str) -> str:
        vulnerable(vendor)
        developer = vendor.membership.user.email
        smtp_inbox.refuse = {developer: answer}
        return developer

    return refuse


def test_a_vendor_mail_refused_for_good_is_tried_once_and_not_promised_again(
    vendor,
    refused,
    smtp_inbox,  # noqa: F811
):
    developer = refused(NO_MAILBOX)

    result = rescan_certified_versions.apply()  # as a worker runs it, retries included

    assert result.successful(), result.result
    assert smtp_inbox.refusals == [developer]
    (digest,) = digests(smtp_inbox)
    assert "is sent again on the next attempt" not in digest
    assert "No vendor has been told:" in digest
    assert f"  - {vendor.tenant.slug}: the mail server refused their mail for good" in digest
    assert "550" in digest
    finding = ScanFinding.objects.get()
    assert finding.vendor_notified_at is None
    assert "550" in finding.vendor_refusal
    assert finding.reviewers_notified_at is not None

    rescan_certified_versions.apply()  # the next import's re-scan

    assert smtp_inbox.refusals == [developer]
    assert len(digests(smtp_inbox)) == 1


def test_a_vendor_member_refused_while_the_others_are_mailed_is_named_in_the_digest(
    vendor,
    refused,
    smtp_inbox,  # noqa: F811
):
    admin = MembershipFactory(tenant=vendor.tenant, user=UserFactory(), role="admin").user
    developer = refused(NO_MAILBOX)

    assert rescan_certified_versions.apply().successful()

    to_vendor = [e.rcpt_tos for e in smtp_inbox.envelopes if "Re-scan" not in str(e.content)]
    assert to_vendor == [[admin.email]]
    (digest,) = digests(smtp_inbox)
    assert "The vendors have been told, except:" in digest
    assert f"  - {vendor.tenant.slug}: told, but the mail server refused" in digest
    assert developer in digest
    finding = ScanFinding.objects.get()
    assert finding.vendor_notified_at is not None
    assert developer in finding.vendor_refusal
    assert smtp_inbox.refusals == [developer]


def test_a_vendor_mail_the_server_defers_is_retried(
    vendor,
    refused,
    smtp_inbox,  # noqa: F811
):
    developer = refused("450 4.2.0 mailbox busy")

    with pytest.raises(FindingsNotMailed, match="450"):
        rescan_certified_versions()

    (digest,) = digests(smtp_inbox)
    assert (
        f"  - {vendor.tenant.slug}: their mail failed and is sent again on the next attempt"
        in digest
    )
    smtp_inbox.refuse = {}
    rescan_certified_versions()
    assert [e.rcpt_tos for e in smtp_inbox.envelopes if developer in e.rcpt_tos] == [[developer]]
    assert ScanFinding.objects.get().vendor_notified_at is not None


def test_a_vendor_member_deferred_while_the_others_are_mailed_is_told_as_deferred(
    vendor,
    refused,
    smtp_inbox,  # noqa: F811
):
    """A 450 for one member while the others got the mail was kept as refused for good (the
    digest said "refused", the detail gave no hint it was temporary). It went to the others,
    so it is not sent again as a whole."""
    admin = MembershipFactory(tenant=vendor.tenant, user=UserFactory(), role="admin").user
    developer = refused("450 4.2.0 mailbox busy")

    assert rescan_certified_versions.apply().successful()

    to_vendor = [e.rcpt_tos for e in smtp_inbox.envelopes if "Re-scan" not in str(e.content)]
    assert to_vendor == [[admin.email]]
    finding = ScanFinding.objects.get()
    assert finding.vendor_notified_at is not None
    assert developer in finding.vendor_refusal and "450" in finding.vendor_refusal
    assert "temporary" in finding.vendor_refusal and "not sent again" in finding.vendor_refusal
    (digest,) = digests(smtp_inbox)
    assert "temporary" in digest and developer in digest

    rescan_certified_versions.apply()  # the next import's re-scan
    assert smtp_inbox.refusals == [developer]


@pytest.mark.parametrize("among_others", [True, False], ids=["some_refused", "all_refused"])
def test_a_refused_vendor_mail_logs_the_vendor_and_a_count_not_the_addresses(
    vendor,
    refused,
    smtp_inbox,  # noqa: F811
    caplog,
    among_others,
):
    """The refusal's detail, naming each refused address, was logged at WARNING; the
    addresses are kept on the findings (vendor_refusal) only."""
    if among_others:
        MembershipFactory(tenant=vendor.tenant, user=UserFactory(), role="admin")
    developer = refused(NO_MAILBOX)

    with caplog.at_level("DEBUG"):
        assert rescan_certified_versions.apply().successful()

    warned = [r.getMessage() for r in caplog.records if r.name == "certification.vulndb.rescan"]
    total = 2 if among_others else 1
    assert [line for line in warned if f"1 of {total} recipient(s)" in line], warned
    assert [line for line in warned if vendor.tenant.slug in line], warned
    # Every record but the test SMTP server's own ("mail.log": its side of the dialogue).
    logged = [r.getMessage() for r in caplog.records if r.name != "mail.log"]
    assert not [line for line in logged if developer in line], logged
    assert developer in ScanFinding.objects.get().vendor_refusal
