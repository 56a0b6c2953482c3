"""A confirmation page's title names what it would remove: with a tab open per member (or
key), each tab says whose removal it asks. Before, every member's page was "Remove a member"
and every key's "Revoke key", alike in the tab strip and the history."""

import pytest

from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import MembershipFactory, UserFactory, VendorKeyFactory

pytestmark = [pytest.mark.browser]


def test_each_remove_and_revoke_page_is_titled_for_what_it_removes(journey, vendor_admin):
    tenant = vendor_admin.memberships.get().tenant
    for email in ("dev@acme.example", "ops@acme.example"):
        MembershipFactory(tenant=tenant, user=UserFactory(email=email), role="developer")
    VendorKeyFactory(tenant=tenant, name="release laptop")
    VendorKeyFactory(tenant=tenant, name="build server")
    page = journey.page
    portal_sign_in(journey, vendor_admin)

    titles = []
    for email in ("dev@acme.example", "ops@acme.example"):
        journey.goto("/portal/team/")
        journey.click(page.get_by_role("link", name=f"Remove {email}"))
        titles.append(page.title())
    assert titles == [
        "Remove dev@acme.example from the team · EdgePlug",
        "Remove ops@acme.example from the team · EdgePlug",
    ]

    titles = []
    for row in ("release laptop", "build server"):
        journey.goto("/portal/keys/")
        journey.click(page.get_by_role("row", name=row).get_by_role("link", name="Revoke"))
        titles.append(page.title())
    assert titles == ["Revoke key release laptop · EdgePlug", "Revoke key build server · EdgePlug"]
