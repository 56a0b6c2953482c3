"""A form the portal refuses for a field, used from the keyboard: the page comes back with
that field focused, ready to correct, and a screen reader reads its error with it (the
field's aria-describedby names the error). Before, the error had no id, so the description
Django gives a field in error named nothing, and the focus went to the field's box, not into
the field."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_vendor_portal_journey import portal_sign_in

pytestmark = [pytest.mark.browser]


def _tab_to(page, name: str) -> None:
    """Press Tab until the field named ``name`` has the focus."""
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == name:
            return
    raise AssertionError(f"Tab never reached {name}")


def test_a_refused_password_change_focuses_the_wrong_field_and_reads_its_error(
    journey, vendor_admin
):
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/password/")
    journey.expect_status(400, "/portal/password/")

    _tab_to(page, "old_password")
    page.keyboard.type("not my password")
    page.keyboard.press("Tab")
    page.keyboard.type("a long new passphrase 1")
    page.keyboard.press("Tab")
    page.keyboard.type("a long new passphrase 2")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    journey.check()

    old = page.get_by_label("Old password")
    expect(old).to_be_focused()
    expect(old).to_have_attribute("aria-invalid", "true")
    expect(old).to_have_accessible_description(re.compile("old password was entered incorrectly"))
    expect(page.get_by_label("New password confirmation")).to_have_accessible_description(
        re.compile("fields didn.t match")
    )
    # Secrets are not sent back: the person types them again.
    expect(old).to_have_value("")
