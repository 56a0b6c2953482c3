"""An account whose email has an internationalised domain (``linus@bücher.example``), in
Chromium, whose email fields send that domain as punycode (``xn--bcher-kva.example``): an admin
types it on the team page and the account joins; its owner types it on the sign-in page and is
in. Before, both said no account uses that email."""

import pytest
from playwright.sync_api import expect

from edgeplug.tenancy.models import Membership
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import MembershipFactory, TOTPDeviceFactory, UserFactory

pytestmark = [pytest.mark.browser]

EMAIL = "linus@bücher.example"


def test_an_admin_adds_an_account_with_an_internationalised_domain(journey, vendor_admin):
    linus = UserFactory(email=EMAIL)
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/team/")
    page.get_by_label("Email of an existing EdgePlug account").fill(EMAIL)
    journey.click(page.get_by_role("button", name="Add member"))

    expect(page.get_by_role("status")).to_contain_text(f"{EMAIL} joined as")
    assert Membership.objects.filter(user=linus, tenant__slug="acme-robotics").exists()


def test_its_owner_signs_in_typing_it(journey, vendor_admin):
    linus = UserFactory(email=EMAIL)
    MembershipFactory(tenant=vendor_admin.memberships.get().tenant, user=linus, role="developer")
    linus.device = TOTPDeviceFactory(user=linus)
    portal_sign_in(journey, linus)
    expect(journey.page.locator("header")).to_contain_text("Acme Robotics")
