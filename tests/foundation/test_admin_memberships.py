"""Membership edits in the admin go through the tenancy actions: a platform admin cannot do
there what the API refuses (remove or demote a tenant's last admin), and every change is
audited as the API's are."""

import re

import pytest

from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Membership, Role, Tenant
from tests.conftest import changeform_data
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant_page(admin_session):
    """(client, tenant, its only admin membership, the change page's unchanged form data)."""
    client, _ = admin_session("platform-admins", is_superuser=True)
    tenant = TenantFactory()
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    url = f"/admin/tenancy/tenant/{tenant.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    return client, url, tenant, admin, changeform_data(page)


def test_removing_the_last_admin_in_the_admin_is_refused(tenant_page):
    client, url, _, admin, data = tenant_page
    data["memberships-0-DELETE"] = "on"
    response = client.post(url, data)
    assert response.status_code == 200  # the page again, with the reason
    assert "must keep at least one admin" in response.content.decode()
    assert Membership.objects.filter(pk=admin.pk, role=Role.ADMIN).exists()


def test_demoting_the_last_admin_in_the_admin_is_refused(tenant_page):
    client, url, _, admin, data = tenant_page
    data["memberships-0-role"] = Role.DEVELOPER
    response = client.post(url, data)
    page = response.content.decode()
    assert "must keep at least one admin" in page
    assert Membership.objects.get(pk=admin.pk).role == Role.ADMIN
    # The row's title does not tell the refused role as if saved; its form keeps the choice.
    assert f"{admin.user} @ {admin.tenant} (developer)" not in page
    assert re.search(r'<option value="developer" selected>', page)


def test_handing_over_the_admin_role_in_one_save_passes_and_is_audited(tenant_page):
    client, url, tenant, admin, data = tenant_page
    newcomer = UserFactory()
    data.update(
        {
            "memberships-TOTAL_FORMS": "2",
            "memberships-1-user": str(newcomer.pk),
            "memberships-1-role": Role.ADMIN,
            "memberships-1-tenant": str(tenant.pk),
            "memberships-0-role": Role.OPERATOR,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    roles = dict(Membership.objects.filter(tenant=tenant).values_list("user_id", "role"))
    assert roles == {admin.user_id: Role.OPERATOR, newcomer.pk: Role.ADMIN}
    actions = set(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
    assert {"membership_created", "role_changed"} <= actions


def test_swapping_the_admin_role_between_two_members_passes(tenant_page):
    """Demoted before the other was promoted, the save met last_admin (a 500) where the
    form's check had passed it."""
    client, url, tenant, admin, data = tenant_page
    other = MembershipFactory(tenant=tenant, role=Role.OPERATOR)
    data = changeform_data(client.get(url))
    rows = {data[f"memberships-{i}-id"]: i for i in range(2)}
    data[f"memberships-{rows[admin.pk]}-role"] = Role.OPERATOR
    data[f"memberships-{rows[other.pk]}-role"] = Role.ADMIN
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    roles = dict(Membership.objects.filter(tenant=tenant).values_list("pk", "role"))
    assert roles == {admin.pk: Role.OPERATOR, other.pk: Role.ADMIN}


def test_handing_the_admin_role_to_a_deactivated_member_is_refused_at_the_form(tenant_page):
    """An admin who cannot sign in is no admin (as at the API): refused at the member's role
    (before, the form counted no admin remaining; alone, the promotion was saved)."""
    client, url, tenant, admin, data = tenant_page
    asleep = MembershipFactory(tenant=tenant, role=Role.OPERATOR, user=UserFactory(is_active=False))
    data = changeform_data(client.get(url))
    rows = {data[f"memberships-{i}-id"]: i for i in range(2)}
    data[f"memberships-{rows[admin.pk]}-role"] = Role.OPERATOR
    data[f"memberships-{rows[asleep.pk]}-role"] = Role.ADMIN
    response = client.post(url, data)
    assert response.status_code == 200  # the page again, with the reason at the role
    [row] = [f for f in response.context["inline_admin_formsets"][0].formset.forms if f.errors]
    assert "cannot sign in: it can be made an admin once" in str(row.errors["role"])
    assert Membership.objects.get(pk=admin.pk).role == Role.ADMIN
    assert Membership.objects.get(pk=asleep.pk).role == Role.OPERATOR

    data[f"memberships-{rows[admin.pk]}-role"] = Role.ADMIN  # the promotion alone
    response = client.post(url, data)
    [row] = [f for f in response.context["inline_admin_formsets"][0].formset.forms if f.errors]
    assert "cannot sign in: it can be made an admin once" in str(row.errors["role"])
    assert Membership.objects.get(pk=asleep.pk).role == Role.OPERATOR


def test_adding_a_deactivated_account_in_the_admin_is_refused_as_at_the_api(tenant_page):
    """It was saved and audited as membership_created; the API refuses it
    (account_deactivated): the account can never use the team."""
    client, url, tenant, _, data = tenant_page
    gone = UserFactory(is_active=False)
    data.update(
        {
            "memberships-TOTAL_FORMS": "2",
            "memberships-1-user": str(gone.pk),
            "memberships-1-role": Role.OPERATOR,
            "memberships-1-tenant": str(tenant.pk),
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200  # the page again, with the reason at the user
    [row] = [f for f in response.context["inline_admin_formsets"][0].formset.forms if f.errors]
    assert "belongs to a deactivated account, which cannot sign in" in str(row.errors["user"])
    assert not Membership.objects.filter(user=gone).exists()
    assert not AuditEvent.objects.filter(action="membership_created").exists()


def test_removing_a_member_who_is_not_the_last_admin_passes(tenant_page):
    client, url, tenant, admin, data = tenant_page
    MembershipFactory(tenant=tenant, role=Role.ADMIN)
    page = client.get(url)
    data = changeform_data(page)
    first = next(k for k, v in data.items() if k.endswith("-id") and v == admin.pk)
    data[first.replace("-id", "-DELETE")] = "on"
    assert client.post(url, data).status_code == 302
    assert not Membership.objects.filter(pk=admin.pk).exists()
    assert AuditEvent.objects.filter(tenant=tenant, action="membership_removed").exists()


def test_a_tenant_added_in_the_admin_is_created_by_the_action_and_audited(admin_session):
    client, staff = admin_session("platform-admins", is_superuser=True)
    page = client.get("/admin/tenancy/tenant/add/")
    data = changeform_data(page)
    founder = UserFactory()
    data.update(
        {
            "name": "Nordic Pumps",
            "slug": "nordic-pumps",
            "is_vendor": "on",
            "is_customer": "on",
            "is_active": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-user": str(founder.pk),
            "memberships-0-role": Role.ADMIN,
        }
    )
    response = client.post("/admin/tenancy/tenant/add/", data)
    assert response.status_code == 302, response.context and response.context["errors"]
    tenant = Tenant.objects.get(slug="nordic-pumps")
    assert (tenant.is_vendor, tenant.is_customer) == (True, True)
    assert Membership.objects.get(tenant=tenant).user == founder
    created = AuditEvent.objects.get(action="tenant_created", tenant=tenant)
    assert created.actor == staff
    assert AuditEvent.objects.filter(tenant=tenant, action="membership_created").exists()


def test_a_tenant_neither_vendor_nor_customer_is_refused_in_the_admin(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    data = changeform_data(client.get("/admin/tenancy/tenant/add/"))
    data.update({"name": "Nobody", "slug": "nobody", "memberships-TOTAL_FORMS": "0"})
    data.pop("is_customer", None)
    data.pop("is_vendor", None)
    response = client.post("/admin/tenancy/tenant/add/", data)
    assert response.status_code == 200
    assert not Tenant.objects.filter(slug="nobody").exists()
    assert not AuditEvent.objects.filter(action="tenant_created").exists()


def test_a_saved_memberships_user_is_shown_not_offered(tenant_page):
    """Its user cannot change (remove the membership and add another): the field is disabled,
    and a user sent for it anyway is ignored while the role is saved."""
    client, url, tenant, admin, data = tenant_page
    select = re.search(r'<select[^>]*name="memberships-0-user"[^>]*>', client.get(url).text)
    assert select and " disabled" in select.group(0)
    MembershipFactory(tenant=tenant, role=Role.ADMIN)
    data = changeform_data(client.get(url))
    row = next(k for k, v in data.items() if k.endswith("-id") and v == admin.pk)[: -len("id")]
    data[f"{row}user"] = str(UserFactory().pk)
    data[f"{row}role"] = Role.OPERATOR
    assert client.post(url, data).status_code == 302
    saved = Membership.objects.get(pk=admin.pk)
    assert (saved.user_id, saved.role) == (admin.user_id, Role.OPERATOR)
