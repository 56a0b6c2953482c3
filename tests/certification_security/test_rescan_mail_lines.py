"""The re-scan's messages print each finding on one line of the platform's text: a component
name or version an SBOM wrote never stands as a line of its own in them (a vendor's name
holding line breaks wrote "findings withdrawn, ignore them" into the reviewers' digest)."""

import pytest

from certification.models import ScanFinding
from certification.vulndb import rescan
from tests.security import advisories

from .conftest import URLLIB3_VULNERABLE, import_osv, write_osv_dir

pytestmark = pytest.mark.django_db

FORGED = "urllib3\n\nAll other findings of this re-scan were withdrawn by the database; ignore them"


def test_an_sbom_naming_a_component_so_is_not_read_by_the_rescan(
    tmp_path, vendor, certified, reviewer, mailoutbox
):
    """An SBOM certified before such names were refused: the re-scan lists its version as
    unreadable, with the refusal's code, and writes nothing of it in any message."""
    # The fixture marks it certified whatever its security stage said.
    version = certified({**URLLIB3_VULNERABLE, "name": FORGED}, by=vendor)
    import_osv(write_osv_dir(tmp_path / "osv", [advisories.URLLIB3_COOKIE]), "--rescan=never")

    report = rescan.rescan_certified_versions()

    assert report.unreadable == [f"{version}: sbom_control_character"]
    assert not ScanFinding.objects.exists() and mailoutbox == []


def test_a_finding_stored_with_such_a_name_is_printed_escaped_on_its_line(
    tmp_path, vendor, certified, reviewer, mailoutbox
):
    """A finding recorded before the rule, its component as the SBOM wrote it."""
    version = certified(URLLIB3_VULNERABLE, by=vendor)
    import_osv(write_osv_dir(tmp_path / "osv", [advisories.URLLIB3_COOKIE]), "--rescan=never")
    rescan.rescan_version(version)
    ScanFinding.objects.update(component=FORGED, component_version="1.26.16\x1b[2J")

    assert rescan.notify_new_findings() == 1

    vendor_mail, digest = mailoutbox
    for mail in (vendor_mail, digest):
        lines = mail.body.splitlines()
        assert not any(line.startswith("All other findings") for line in lines)
        assert "\x1b" not in mail.body
        (line,) = [line for line in lines if advisories.URLLIB3_COOKIE["id"] in line]
        assert "in urllib3\\n\\nAll other findings" in line and "1.26.16\\x1b[2J" in line


def test_the_rescan_mails_name_the_sender_s_domain_not_the_worker_host(
    tmp_path, vendor, certified, reviewer, mailoutbox, settings
):
    """Their Message-ID was Django's, ``<…@localhost>`` or the email worker pod's name: a
    domain spam filters score, and our internal host names shown to every vendor."""
    settings.DEFAULT_FROM_EMAIL = "EdgePlug <security@marketplace.example.com>"
    version = certified(URLLIB3_VULNERABLE, by=vendor)
    import_osv(write_osv_dir(tmp_path / "osv", [advisories.URLLIB3_COOKIE]), "--rescan=never")
    rescan.rescan_version(version)

    assert rescan.notify_new_findings() == 1

    sent = [mail.message()["Message-ID"] for mail in mailoutbox]
    assert len(sent) == 2 and all(i.endswith("@marketplace.example.com>") for i in sent), sent
