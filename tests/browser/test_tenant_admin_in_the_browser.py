"""A superuser renames a vendor on its admin page: the change is saved through
``update_tenant`` (audited), the catalogue lists the vendor's agent under its new name, and
the admin offers no way to delete the tenant."""

import pytest

from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Membership, Tenant
from marketplace.catalogue import refresh_listing
from marketplace.models import CatalogueListing
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    MembershipFactory,
    UserFactory,
    VendorTenantFactory,
)

pytestmark = pytest.mark.browser

TENANTS = "/admin/tenancy/tenant/"


def _catalogue_vendor_names(journey, q: str) -> list[str]:
    response = journey.page.request.get(
        f"{journey.base_url}/api/v1/agents?q={q}", headers={"Accept": "application/json"}
    )
    assert response.status == 200, response.text()
    return [agent["vendor_name"] for agent in response.json()["results"]]


def test_a_superuser_renames_a_vendor_and_the_catalogue_follows_but_cannot_delete_it(
    journey, superuser
):
    tenant = VendorTenantFactory(name="Nordic Pumps", slug="nordic-pumps")
    agent = AgentFactory(tenant=tenant, name="pump-anomaly")
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    refresh_listing(agent)
    journey.sign_in(superuser)
    assert _catalogue_vendor_names(journey, "Zyxwvut") == []  # cached: must be forgotten
    page = journey.page

    journey.click(page.get_by_role("link", name="Tenants"))
    assert page.get_by_role("option", name="Delete selected tenants").count() == 0
    journey.click(page.get_by_role("link", name="nordic-pumps"))
    assert page.get_by_role("link", name="Delete").count() == 0
    page.get_by_label("Name:").fill("Zyxwvut Automation")
    journey.click(page.get_by_role("button", name="Save", exact=True))

    assert "was changed successfully" in page.locator(".messagelist").inner_text()
    stored = Tenant.objects.get(pk=tenant.pk)
    assert (stored.name, stored.slug) == ("Zyxwvut Automation", "nordic-pumps")
    [event] = AuditEvent.objects.filter(action="tenant_changed")
    assert (event.actor, event.tenant, event.target) == (superuser, stored, "nordic-pumps")
    assert event.details == {
        "fields": {"name": {"from": "Nordic Pumps", "to": "Zyxwvut Automation"}}
    }
    assert CatalogueListing.objects.get(agent=agent).vendor_name == "Zyxwvut Automation"
    assert _catalogue_vendor_names(journey, "Zyxwvut") == ["Zyxwvut Automation"]

    delete = f"{TENANTS}{tenant.pk}/delete/"
    journey.expect_status(403, delete)
    assert journey.goto(delete).status == 403
    assert Tenant.objects.filter(pk=tenant.pk).exists()


def test_a_superuser_cannot_add_a_deactivated_account_to_a_tenant(journey, superuser):
    """Refused at the row's user in the API's words (account_deactivated); it was saved and
    audited as membership_created."""
    tenant = VendorTenantFactory(name="Nordic Pumps", slug="nordic-pumps")
    MembershipFactory(tenant=tenant, role="admin")
    gone = UserFactory(email="gone@nordic.example", is_active=False)
    journey.sign_in(superuser)
    page = journey.page
    journey.goto(f"{TENANTS}{tenant.pk}/change/")

    page.locator(".add-row a").click()  # inlines.js adds the row in the page
    row = page.locator("tr.dynamic-memberships").last
    row.locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("gone@")
    page.locator(".select2-results__option", has_text=gone.email).click()
    row.locator("select[name$='-role']").select_option("operator")
    journey.click(page.get_by_role("button", name="Save", exact=True))

    errors = page.locator(".errorlist").all_inner_texts()
    assert any("belongs to a deactivated account, which cannot sign in" in e for e in errors)
    assert not Membership.objects.filter(user=gone).exists()
    assert not AuditEvent.objects.filter(action="membership_created").exists()
