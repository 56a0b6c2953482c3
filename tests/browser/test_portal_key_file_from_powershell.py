"""A public key saved on Windows with PowerShell 5.1 (`edgeplug keygen ... > key.pub` writes
UTF-16 with a byte order mark), uploaded on the keys page in Chromium, registers; before, the
page said the file did not hold a base64 public key."""

import pytest
from playwright.sync_api import expect

from edgeplug import signing
from marketplace.models import VendorKey
from tests.browser.test_vendor_portal_journey import portal_sign_in

pytestmark = [pytest.mark.browser]


def test_a_utf16_key_file_registers(journey, vendor_admin, tmp_path):
    keys = signing.generate_keypair()
    key_file = tmp_path / "key.pub"
    key_file.write_bytes(f"public key:  {signing.encode_b64(keys.public_key)}\r\n".encode("utf-16"))
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/keys/")
    page.get_by_label("Name").fill("windows laptop")
    page.get_by_label("…or upload a file holding the public key").set_input_files(key_file)
    journey.click(page.get_by_role("button", name="Register key"))

    # Named as it was just typed, not by its fingerprint alone.
    expect(page.locator(".messages")).to_have_text(
        f"Key “windows laptop” ({keys.key_id}) is registered."
    )
    expect(page.get_by_role("row", name=keys.key_id)).to_contain_text("windows laptop")
    assert VendorKey.objects.filter(key_id=keys.key_id, name="windows laptop").exists()
