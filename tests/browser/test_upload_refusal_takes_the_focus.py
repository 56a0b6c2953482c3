"""A vendor uploads from the keyboard and the package is refused: the refusal the upload's
script shows takes the keyboard focus, so the next Tab reaches its link to the package
format. Before, the script focused a box that cannot take the focus, and the Upload button
(disabled while the bytes went) had dropped it: the focus fell back to the top of the page."""

import pytest
from playwright.sync_api import expect

from edgeplug import signing
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import VendorKeyFactory
from tests.packageformat.hostile import HOSTILE_CASES

pytestmark = [pytest.mark.browser]


def test_a_refused_upload_puts_the_focus_on_its_refusal(journey, vendor_admin):
    keys = signing.generate_keypair()
    VendorKeyFactory(
        tenant=vendor_admin.memberships.get().tenant,
        public_key=signing.encode_b64(keys.public_key),
        name="release laptop",
    )
    hostile = next(c for c in HOSTILE_CASES if c.code == "path_traversal").build(None)
    signature = signing.encode_b64(signing.sign_package(keys.private_key, hostile)).encode()
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/upload/")
    journey.expect_status(422, "/portal/upload/")

    page.get_by_label("Agent package (.epk)").set_input_files(
        files=[{"name": "agent.epk", "mimeType": "application/octet-stream", "buffer": hostile}]
    )
    page.get_by_label("Signature (.sig)").set_input_files(
        files=[{"name": "agent.epk.sig", "mimeType": "text/plain", "buffer": signature}]
    )
    upload = page.get_by_role("button", name="Upload")
    upload.focus()
    page.keyboard.press("Enter")

    refusal = page.locator("#refusal .refusal")
    expect(refusal).to_be_focused()
    assert refusal.locator(".code").inner_text() == "path_traversal"
    page.keyboard.press("Tab")
    expect(
        refusal.get_by_role("link", name="What this means in the package format")
    ).to_be_focused()
    journey.check()
