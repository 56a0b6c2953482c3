"""The re-scan's mails say only what is so about who was told. A vendor with nobody to mail (its
only developer left, or only billing members) gets no message: its findings are marked as
having had nobody to tell, not as notified, and the reviewers' digest names it, as they decide
whether vulnerable versions stay listed trusting that sentence. The vendor's message says the
reviewers are told only when there are reviewers. Until 2026-12-07 such findings were marked
notified all the same, the digest said "The vendors have been told.", and every vendor
message said "Reviewers have been told" before any digest, even with no reviewer at all."""

import pytest

from certification.models import ScanFinding
from certification.vulndb.tasks import rescan_certified_versions
from edgeplug.tenancy.services import update_tenant

pytestmark = pytest.mark.django_db

OTHER_VENDOR = "bolt-dynamics"


def left(vendor):
    """The vendor's only developer leaves: nobody there to mail."""
    user = vendor.membership.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user


def mail_to(mailoutbox, email):
    return [m for m in mailoutbox if m.to == [email]]


def test_the_digest_names_a_vendor_nobody_told(vendor, vulnerable, reviewer, mailoutbox):
    vulnerable(vendor)
    gone = left(vendor)

    report = rescan_certified_versions()

    assert mail_to(mailoutbox, gone.email) == []
    (digest,) = mail_to(mailoutbox, reviewer.email)
    assert "The vendors have been told" not in digest.body
    assert "No vendor has been told:" in digest.body
    assert (
        f"  - {vendor.tenant.slug}: nobody to tell (no active admin or developer with an "
        "email address)" in digest.body
    )
    finding = ScanFinding.objects.get()
    assert finding.vendor_notified_at is None
    assert finding.vendor_nobody_to_mail_at is not None
    assert finding.reviewers_notified_at is not None
    assert report["notified_findings"] == 1  # in the digest

    gone.is_active = True  # back later: old findings are not mailed then
    gone.save(update_fields=["is_active"])
    rescan_certified_versions()
    assert mail_to(mailoutbox, gone.email) == []
    assert len(mail_to(mailoutbox, reviewer.email)) == 1


def test_the_digest_tells_told_vendors_from_the_one_nobody_told(
    vendor, make_vendor, vulnerable, reviewer, mailoutbox
):
    other = make_vendor(OTHER_VENDOR)
    vulnerable(vendor, other)
    left(vendor)

    rescan_certified_versions()

    assert len(mail_to(mailoutbox, other.membership.user.email)) == 1
    (digest,) = mail_to(mailoutbox, reviewer.email)
    lines = digest.body.splitlines()
    told = lines.index("The vendors have been told, except:")
    assert lines[told + 1].startswith(f"  - {vendor.tenant.slug}: nobody to tell")
    assert OTHER_VENDOR not in lines[told + 1]
    assert not lines[told + 2].startswith("  - ")


def test_the_vendor_message_says_the_reviewers_are_told_when_there_are_some(
    vendor, vulnerable, reviewer, mailoutbox
):
    vulnerable(vendor)
    rescan_certified_versions()
    (message,) = mail_to(mailoutbox, vendor.membership.user.email)
    assert "EdgePlug's reviewers are sent these findings too." in message.body
    assert "have been told" not in message.body


def test_with_no_reviewer_the_vendor_message_does_not_say_they_were_told(
    vendor, vulnerable, mailoutbox
):
    vulnerable(vendor)

    report = rescan_certified_versions()

    (message,) = mailoutbox
    assert message.to == [vendor.membership.user.email]
    assert "reviewers" not in message.body.lower()
    finding = ScanFinding.objects.get()
    assert finding.vendor_notified_at is not None
    assert finding.reviewers_notified_at is None
    assert finding.reviewers_nobody_to_mail_at is not None
    assert report["notified_findings"] == 1  # to the vendor


def test_a_deactivated_vendor_is_not_mailed_and_the_digest_says_why(
    vendor, make_vendor, vulnerable, reviewer, mailoutbox
):
    """Its members can no longer sign in to it (docs/roles.md) to upload the fix the mail asks
    for: until 2026-12-07 they were mailed all the same and the digest said "The vendors have
    been told." """
    other = make_vendor(OTHER_VENDOR)
    vulnerable(vendor, other)
    update_tenant(vendor.tenant, {"is_active": False})

    rescan_certified_versions()

    assert mail_to(mailoutbox, vendor.membership.user.email) == []
    assert len(mail_to(mailoutbox, other.membership.user.email)) == 1
    (digest,) = mail_to(mailoutbox, reviewer.email)
    lines = digest.body.splitlines()
    told = lines.index("The vendors have been told, except:")
    assert lines[told + 1] == (
        f"  - {vendor.tenant.slug}: nobody to tell (the vendor is deactivated: its members "
        "cannot sign in to it)"
    )
    assert not lines[told + 2].startswith("  - ")
    assert ScanFinding.objects.get(tenant=vendor.tenant).vendor_nobody_to_mail_at is not None
