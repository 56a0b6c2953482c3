"""An admin adds a member from the keyboard with an email no account uses: the refusal says
so, and the Email field is marked in error with it, what was typed kept, the next Tab in the
field to correct. Before, only the refusal over the form said it; the field looked fine."""

import re

import pytest
from playwright.sync_api import expect

from edgeplug.tenancy.models import Membership
from tests.browser.test_portal_refused_field_is_focused_and_described import refused_by_keyboard
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser]


def test_adding_an_unknown_email_marks_the_email_field(journey, vendor_admin):
    page = refused_by_keyboard(
        journey, vendor_admin, "/portal/team/", "email", "nobody@elsewhere.example"
    )

    refusal = page.locator(".refusal")
    expect(refusal).to_be_focused()
    expect(refusal).to_contain_text("unknown_user")
    email = page.get_by_label("Email of an existing EdgePlug account")
    expect(email).to_have_value("nobody@elsewhere.example")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("no EdgePlug account uses it"))
    page.keyboard.press("Tab")
    expect(email).to_be_focused()


def test_adding_a_deactivated_account_says_why_at_the_email_field(journey, vendor_admin):
    """It was added, and listed as a member who could never sign in."""
    UserFactory(email="left@acme.example", is_active=False)
    journey.expect_status(409, "/portal/team/")
    page = refused_by_keyboard(journey, vendor_admin, "/portal/team/", "email", "left@acme.example")

    expect(page.locator(".refusal")).to_contain_text("account_deactivated")
    email = page.get_by_label("Email of an existing EdgePlug account")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("cannot sign in"))
    assert not Membership.objects.filter(user__email="left@acme.example").exists()
