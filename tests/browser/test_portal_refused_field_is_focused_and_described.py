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


def refused_by_keyboard(journey, user, path: str, field: str, *typed: str):
    """``user`` signs in to the portal, opens ``path``, Tabs to ``field`` and types ``typed``
    into it and the fields after it (Tab between), then presses Enter; the portal refuses the
    form (400). The page, as it came back."""
    page = journey.page
    portal_sign_in(journey, user)
    journey.goto(path)
    journey.expect_status(400, path)
    _tab_to(page, field)
    for n, text in enumerate(typed):
        if n:
            page.keyboard.press("Tab")
        page.keyboard.type(text)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    journey.check()
    return page


def test_a_refused_password_change_focuses_the_wrong_field_and_reads_its_error(
    journey, vendor_admin
):
    page = refused_by_keyboard(
        journey,
        vendor_admin,
        "/portal/password/",
        "old_password",
        "not my password",
        "a long new passphrase 1",
        "a long new passphrase 2",
    )

    old = page.get_by_label("Old password")
    expect(old).to_be_focused()
    expect(old).to_have_attribute("aria-invalid", "true")
    expect(old).to_have_accessible_description(re.compile("old password was entered incorrectly"))
    expect(page.get_by_label("New password confirmation")).to_have_accessible_description(
        re.compile("fields didn.t match")
    )
    # Secrets are not sent back: the person types them again.
    expect(old).to_have_value("")
