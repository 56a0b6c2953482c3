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
    # Not "Uploading 100%" beside the refusal, as if the upload were still going.
    expect(page.locator("#upload-progress")).to_be_hidden()
    page.keyboard.press("Tab")
    expect(
        refusal.get_by_role("link", name="What this means in the package format")
    ).to_be_focused()
    journey.check()


def test_a_field_the_upload_form_refuses_is_marked_and_cleared_on_the_next_try(
    journey, vendor_admin
):
    """An empty signature file is the form's own refusal (invalid_form, per field). The
    script showed it over the form only, by the field's internal name; it marks the field as
    the page does without the script (in error, described by its error) and names it by its
    label, and the next try starts clean."""
    keys = signing.generate_keypair()
    VendorKeyFactory(
        tenant=vendor_admin.memberships.get().tenant,
        public_key=signing.encode_b64(keys.public_key),
        name="release laptop",
    )
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/upload/")
    journey.expect_status(400, "/portal/upload/")
    package = page.get_by_label("Agent package (.epk)")
    signature = page.get_by_label("Signature (.sig)")
    package.set_input_files(
        files=[{"name": "agent.epk", "mimeType": "application/octet-stream", "buffer": b"PK"}]
    )
    signature.set_input_files(
        files=[{"name": "agent.epk.sig", "mimeType": "text/plain", "buffer": b""}]
    )
    page.get_by_role("button", name="Upload").click()

    refusal = page.locator("#refusal .refusal")
    expect(refusal).to_be_focused()
    expect(refusal.locator(".code")).to_have_text("invalid_form")
    expect(refusal.locator("li")).to_have_text("Signature (.sig): The submitted file is empty.")
    expect(signature).to_have_attribute("aria-invalid", "true")
    expect(signature).to_have_accessible_description("The submitted file is empty.")
    expect(package).not_to_have_attribute("aria-invalid", "true")

    signature.set_input_files(
        files=[{"name": "agent.epk.sig", "mimeType": "text/plain", "buffer": b"c2ln"}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(refusal.locator(".code")).not_to_have_text("invalid_form")
    expect(signature).not_to_have_attribute("aria-invalid", "true")
    expect(signature).to_have_accessible_description("")
    journey.check()
