"""A tenant changed in the admin (name, slug, kinds, active) is changed by the tenancy action
``update_tenant``, which audits ``tenant_changed`` with each changed field's before and after
and refuses what ``create_tenant`` refuses."""

import pytest

from edgeplug.audit.models import AuditEvent
from edgeplug.errors import DomainError
from edgeplug.tenancy.models import Role, Tenant
from edgeplug.tenancy.services import InvalidSlug, add_member, create_tenant, update_tenant
from tests.conftest import changeform_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant_page(admin_session):
    """(client, staff user, url, tenant, the change page's unchanged form data)."""
    client, staff = admin_session("platform-admins", is_superuser=True)
    tenant = create_tenant(name="Nordic Pumps", slug="nordic-pumps", is_vendor=True)
    add_member(tenant, UserFactory(), Role.ADMIN)
    url = f"/admin/tenancy/tenant/{tenant.pk}/change/"
    return client, staff, url, tenant, changeform_data(client.get(url))


def _changes():
    return list(AuditEvent.objects.filter(action="tenant_changed").order_by("id"))


def test_renaming_and_deactivating_a_tenant_in_the_admin_is_audited(tenant_page):
    client, staff, url, tenant, data = tenant_page
    data.update({"name": "Baltic Pumps", "slug": "baltic-pumps"})
    data.pop("is_active")  # unticked

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    tenant.refresh_from_db()
    assert (tenant.name, tenant.slug, tenant.is_active) == ("Baltic Pumps", "baltic-pumps", False)
    [event] = _changes()  # before: none
    assert (event.actor, event.tenant, event.target) == (staff, tenant, "baltic-pumps")
    assert event.details == {
        "fields": {
            "name": {"from": "Nordic Pumps", "to": "Baltic Pumps"},
            "slug": {"from": "nordic-pumps", "to": "baltic-pumps"},
            "is_active": {"from": True, "to": False},
        }
    }


def test_changing_what_a_tenant_is_in_the_admin_is_audited(tenant_page):
    client, _, url, tenant, data = tenant_page
    data.pop("is_customer")  # a vendor only now

    assert client.post(url, data).status_code == 302

    assert Tenant.objects.get(pk=tenant.pk).is_customer is False
    [event] = _changes()
    assert event.details == {"fields": {"is_customer": {"from": True, "to": False}}}


def test_saving_a_tenant_unchanged_records_no_change(tenant_page):
    client, _, url, _, data = tenant_page

    assert client.post(url, data).status_code == 302

    assert _changes() == []


def test_a_slug_taken_by_another_tenant_is_refused_on_the_page(tenant_page):
    client, _, url, tenant, data = tenant_page
    create_tenant(name="Other", slug="other-co")
    data["slug"] = "other-co"

    response = client.post(url, data)

    assert response.status_code == 200  # the form again, with the reason
    assert Tenant.objects.get(pk=tenant.pk).slug == "nordic-pumps"
    assert _changes() == []


def test_a_tenant_neither_vendor_nor_customer_is_refused_in_the_actions_words(tenant_page):
    client, _, url, tenant, data = tenant_page
    data.pop("is_vendor")
    data.pop("is_customer")

    response = client.post(url, data)

    assert response.status_code == 200  # the form again, with the reason
    # The rule's own sentence, not "Constraint “tenant_is_vendor_or_customer” is violated."
    assert "A tenant is a vendor, a customer, or both." in response.content.decode()
    assert Tenant.objects.get(pk=tenant.pk).is_vendor is True
    assert _changes() == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"slug": "other-co"}, "tenant_exists"),
        ({"slug": "Other_Co"}, InvalidSlug.code),
        ({"is_vendor": False, "is_customer": False}, "tenant_kind"),
        ({"created_at": None}, "tenant_field_fixed"),
    ],
)
def test_update_tenant_refuses_what_create_tenant_refuses(changes, code):
    tenant = create_tenant(name="Nordic Pumps", slug="nordic-pumps", is_vendor=True)
    create_tenant(name="Other", slug="other-co")

    with pytest.raises(DomainError) as refused:
        update_tenant(tenant, changes)

    assert refused.value.code == code
    stored = Tenant.objects.get(pk=tenant.pk)
    assert (stored.slug, stored.is_vendor, stored.is_customer) == ("nordic-pumps", True, True)
    assert _changes() == []
