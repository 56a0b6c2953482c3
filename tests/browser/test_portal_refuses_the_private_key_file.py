"""A vendor who uploads the one file `edgeplug keygen` wrote (signing-key.json, which holds
the private key) on the keys page is told what it is and what to give instead; before, the
page said "public key is not valid base64"."""

import pytest
from playwright.sync_api import expect

from edgeplug import signing
from marketplace.cli.keyfile import write_key_file
from marketplace.models import VendorKey
from tests.browser.test_vendor_portal_journey import portal_sign_in

pytestmark = [pytest.mark.browser]


def test_uploading_the_key_file_says_it_holds_the_private_key(journey, vendor_admin, tmp_path):
    keys = signing.generate_keypair()
    key_file = tmp_path / "signing-key.json"
    write_key_file(key_file, keys)
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/keys/")
    journey.expect_status(400, "/portal/keys/")
    page.get_by_label("Name").fill("laptop")
    page.get_by_label("…or upload a file holding the public key").set_input_files(key_file)
    journey.click(page.get_by_role("button", name="Register key"))

    expect(page.locator(".refusal")).to_contain_text("private_key_given")
    expect(page.locator(".refusal")).to_contain_text("it holds your private key")
    expect(page.get_by_label("Public key", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name")).to_have_value("laptop")
    assert signing.encode_b64(keys.private_key) not in page.content()
    assert not VendorKey.objects.filter(key_id=keys.key_id).exists()
