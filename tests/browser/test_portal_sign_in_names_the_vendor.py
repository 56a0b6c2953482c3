"""A member of two vendors signs in in Chromium typing the vendor as the portal shows it
("Acme Robotics"); before, the field asked for its short name exactly ("Enter a valid slug"
for the name, unknown_tenant for ACME-ROBOTICS), a name no page showed."""

import pytest
from playwright.sync_api import expect

from tests.conftest import totp_now
from tests.factories import PASSWORD, MembershipFactory, VendorTenantFactory

pytestmark = [pytest.mark.browser]


@pytest.mark.parametrize("typed", ["Acme Robotics", "ACME-ROBOTICS"])
def test_a_member_of_two_vendors_names_one_as_the_portal_shows_it(journey, vendor_admin, typed):
    MembershipFactory(user=vendor_admin, tenant=VendorTenantFactory(name="Rival"), role="admin")
    page = journey.page
    journey.goto("/portal/sign-in/")
    page.get_by_label("Email").fill(vendor_admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authentication code").fill(totp_now(vendor_admin.device))
    vendor = page.get_by_label("Vendor account")
    expect(vendor).to_have_accessible_description(
        "Only if you belong to several vendors: its name (Acme Robotics) or short name "
        "(acme-robotics)."
    )
    vendor.fill(typed)
    journey.click(page.get_by_role("button", name="Sign in"))

    assert page.url == journey.base_url + "/portal/"
    expect(page.locator(".who")).to_contain_text("Acme Robotics (admin)")
