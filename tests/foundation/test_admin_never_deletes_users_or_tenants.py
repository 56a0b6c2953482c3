"""Users and tenants are never deleted in the admin, neither from their page nor with the bulk
"delete selected": a deletion would take their memberships with it (leaving a tenant without
its last admin, which ``remove_member`` refuses), write no audit event, and meet the
append-only audit log (a 500 on PostgreSQL). Staff deactivate them instead (untick "active")."""

import pytest

from edgeplug.audit.models import AuditEvent
from edgeplug.audit.services import record_event
from edgeplug.tenancy.models import Membership, Role, Tenant
from edgeplug.tenancy.services import add_member, create_tenant
from tests.conftest import changeform_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    return client


@pytest.fixture
def tenant_with_history():
    """A tenant whose only admin has signed in: memberships and audit events hang on both."""
    tenant = create_tenant(name="Nordic Pumps", slug="nordic-pumps")
    user = UserFactory()
    membership = add_member(tenant, user, Role.ADMIN)
    record_event("login", actor=user, tenant=tenant, target=user.email)
    events = {
        e.pk: (e.action, e.actor_id, e.tenant_id) for e in AuditEvent.objects.filter(tenant=tenant)
    }
    return tenant, membership, events


def _bulk_actions(client, changelist: str) -> set[str]:
    page = client.get(changelist)
    assert page.status_code == 200
    form = page.context["action_form"]  # None when the page offers no action at all
    return set() if form is None else {name for name, _ in form.fields["action"].choices}


def _untouched(tenant, membership, events) -> None:
    assert Tenant.objects.filter(pk=tenant.pk).exists()
    assert Membership.objects.filter(pk=membership.pk, role=Role.ADMIN).exists()
    assert {
        e.pk: (e.action, e.actor_id, e.tenant_id) for e in AuditEvent.objects.filter(pk__in=events)
    } == events


# Each kind of row with its admin URL and the pk of the row a test tries to delete.
KINDS = {
    "user": ("/admin/accounts/user/", lambda tenant, membership: membership.user_id),
    "tenant": ("/admin/tenancy/tenant/", lambda tenant, membership: tenant.pk),
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_delete_page_is_refused_and_the_row_stays(staff, tenant_with_history, kind):
    tenant, membership, events = tenant_with_history
    changelist, pk_of = KINDS[kind]
    url = f"{changelist}{pk_of(tenant, membership)}/delete/"

    # Before: the confirmation page, then a 500 (PostgreSQL) or the member and their tenant's
    # last admin gone with no event (SQLite).
    assert staff.get(url).status_code == 403
    assert staff.post(url, {"post": "yes"}).status_code == 403

    _untouched(tenant, membership, events)
    change_page = staff.get(f"{changelist}{pk_of(tenant, membership)}/change/")
    assert change_page.context["has_delete_permission"] is False  # no "Delete" link


@pytest.mark.parametrize("kind", KINDS)
def test_rows_cannot_be_deleted_in_bulk(staff, tenant_with_history, kind):
    tenant, membership, events = tenant_with_history
    changelist, pk_of = KINDS[kind]

    assert "delete_selected" not in _bulk_actions(staff, changelist)
    staff.post(
        changelist,
        {
            "action": "delete_selected",
            "_selected_action": [pk_of(tenant, membership)],
            "post": "yes",
        },
    )

    _untouched(tenant, membership, events)


def test_a_membership_can_still_be_removed_from_the_users_page(staff):
    """Refusing to delete the user does not refuse deleting one of its memberships inline."""
    tenant = create_tenant(name="Nordic Pumps", slug="nordic-pumps")
    add_member(tenant, UserFactory(), Role.ADMIN)
    leaving = add_member(tenant, UserFactory(), Role.DEVELOPER)
    url = f"/admin/accounts/user/{leaving.user_id}/change/"
    data = changeform_data(staff.get(url))
    data["memberships-0-DELETE"] = "on"
    assert staff.post(url, data).status_code == 302
    assert not Membership.objects.filter(pk=leaving.pk).exists()
    assert AuditEvent.objects.filter(action="membership_removed", tenant=tenant).exists()
