"""Tenant admins manage members and roles; every change is audited."""

import threading
from functools import partial

import pytest
from django.contrib.auth.models import Group
from django.db import connections, transaction

from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Membership, Role, Tenant
from edgeplug.tenancy.services import change_role, remove_member, sole_admin
from tests.concurrency import in_thread, needs_row_locks, wait_for_blocked_backend
from tests.conftest import sign_in
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_adds_member_and_it_is_audited(member_client):
    client, membership = member_client("admin")
    newcomer = UserFactory()
    response = client.post(
        "/api/v1/tenant/members", {"email": newcomer.email, "role": "developer"}, format="json"
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(action="membership_created", target=newcomer.email)
    assert event.details["role"] == "developer"
    assert event.tenant == membership.tenant


def test_role_change_is_audited_with_before_and_after(member_client):
    client, membership = member_client("admin")
    other = MembershipFactory(tenant=membership.tenant, role="operator")
    response = client.patch(
        f"/api/v1/tenant/members/{other.pk}", {"role": "billing"}, format="json"
    )
    assert response.json()["role"] == "billing"
    event = AuditEvent.objects.get(action="role_changed")
    assert event.details == {"from": "operator", "to": "billing"}


def test_a_member_s_id_in_the_path_is_plain_digits(member_client):
    """As on every other route (``<int:…>``): ``0_13``, Arabic-Indic digits or a sign named
    member 13 through ``int()``, and PATCH and DELETE acted on it (before: 200 and 204)."""
    client, membership = member_client("admin")
    other = MembershipFactory(tenant=membership.tenant, role="operator")
    digits = str(other.pk)
    for written in (
        f"0_{digits}",
        "".join(chr(0x660 + int(d)) for d in digits),
        f"+{digits}",
    ):
        url = f"/api/v1/tenant/members/{written}"
        assert client.get(url).status_code == 404, written
        assert client.patch(url, {"role": "billing"}, format="json").status_code == 404
        assert client.delete(url).status_code == 404
    assert Membership.objects.get(pk=other.pk).role == "operator"


def test_last_admin_cannot_be_demoted_or_removed(member_client):
    client, membership = member_client("admin")
    url = f"/api/v1/tenant/members/{membership.pk}"
    demote = client.patch(url, {"role": "operator"}, format="json")
    assert (demote.status_code, demote.json()["code"]) == (409, "last_admin")
    assert client.delete(url).json()["code"] == "last_admin"


def test_an_admin_who_cannot_sign_in_leaves_the_last_who_can_in_place(member_client):
    """A deactivated admin (who can never sign in, nor be added: ensure_can_join) is not an
    admin who remains: counted as one, the only admin who could sign in stepped down."""
    client, membership = member_client("admin")
    MembershipFactory(tenant=membership.tenant, role="admin", user=UserFactory(is_active=False))
    url = f"/api/v1/tenant/members/{membership.pk}"
    demote = client.patch(url, {"role": "developer"}, format="json")
    assert (demote.status_code, demote.json()["code"]) == (409, "last_admin")
    assert client.delete(url).json()["code"] == "last_admin"
    assert Membership.objects.get(pk=membership.pk).role == "admin"
    # The portal's team page offers them no way out (sole_admin).
    assert sole_admin(membership.tenant_id) == membership.pk


def test_admins_who_cannot_sign_in_may_leave_a_tenant_none_can_run():
    """Taking away an admin who cannot sign in takes away no admin: a tenant whose admins
    are all deactivated can still be cleaned up."""
    tenant = TenantFactory()
    asleep = [
        MembershipFactory(tenant=tenant, role="admin", user=UserFactory(is_active=False))
        for _ in range(2)
    ]
    change_role(asleep[0], "developer")
    remove_member(asleep[1])
    assert list(Membership.objects.filter(tenant=tenant).values_list("role", flat=True)) == [
        "developer"
    ]


def test_adding_unknown_user_or_twice_is_a_clear_error(member_client):
    client, membership = member_client("admin")
    unknown = client.post(
        "/api/v1/tenant/members", {"email": "ghost@example.com", "role": "operator"}, format="json"
    )
    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_user")
    twice = client.post(
        "/api/v1/tenant/members",
        {"email": membership.user.email, "role": "operator"},
        format="json",
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "already_member")


def test_a_tenant_admin_cannot_pull_platform_staff_into_its_tenant(member_client):
    """A vendor adding a reviewer to itself took that reviewer off its runs (four eyes) with
    no consent asked; at the API and the portal's team page (one action) staff are refused."""
    client, membership = member_client("admin")
    reviewer = UserFactory(is_staff=True)
    reviewer.groups.add(Group.objects.get(name="reviewers"))
    # Staff by their group, as their powers are (in_staff_group), with "staff status"
    # unticked: added, they were barred from this vendor's runs all the same.
    unticked = UserFactory(is_staff=False)
    unticked.groups.add(Group.objects.get(name="finance"))
    for staff in (reviewer, unticked, UserFactory(is_superuser=True)):
        refused = client.post(
            "/api/v1/tenant/members", {"email": staff.email, "role": "developer"}, format="json"
        )
        # Answered as no account at all: the refusal tells nobody who is staff.
        assert (refused.status_code, refused.json()["code"]) == (400, "unknown_user")
    assert list(Membership.objects.filter(tenant=membership.tenant)) == [membership]


def test_invalid_role_is_rejected(member_client):
    client, membership = member_client("admin")
    other = MembershipFactory(tenant=membership.tenant, role="operator")
    response = client.patch(f"/api/v1/tenant/members/{other.pk}", {"role": "god"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_choice")


@needs_row_locks
@pytest.mark.django_db(transaction=True)  # two connections: a held transaction and a request
def test_two_admins_demoting_each_other_at_once_leave_one_admin(member_client):
    """Each change alone saw the other admin still there: the second now waits for the
    first (its tenant's lock) and is refused, so the tenant keeps an admin."""
    _, first = member_client("admin")
    client, second = member_client("admin", tenant=first.tenant)
    demoted, answers, errors = threading.Event(), [], []

    def first_demotes_second_and_holds():
        try:
            with transaction.atomic():  # the request's transaction, not yet committed
                change_role(second, Role.DEVELOPER)
                demoted.set()
                wait_for_blocked_backend()  # the second admin's request waits on it
        finally:
            connections.close_all()

    holder = threading.Thread(target=first_demotes_second_and_holds)
    holder.start()
    assert demoted.wait(30)
    url = f"/api/v1/tenant/members/{first.pk}"
    patch = partial(client.patch, url, {"role": "developer"}, format="json")
    request = in_thread(patch, answers, errors)
    holder.join()
    request.join()

    assert not errors, errors
    [answer] = answers
    assert (answer.status_code, answer.json()["code"]) == (409, "last_admin")
    roles = dict(Membership.objects.filter(tenant=first.tenant).values_list("pk", "role"))
    assert roles == {first.pk: Role.ADMIN, second.pk: Role.DEVELOPER}


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_member_removed_while_another_request_waited_for_it_is_404(member_client):
    """A double-clicked remove: the second request found the member, then waited for the
    first's lock; once the first committed the row is gone (was a 500, DoesNotExist)."""
    client, admin = member_client("admin")
    member = MembershipFactory(tenant=admin.tenant, role="operator")
    answers, errors = [], []

    with transaction.atomic():
        Tenant.objects.select_for_update().get(pk=admin.tenant_id)  # the first remove, holding
        url = f"/api/v1/tenant/members/{member.pk}"
        second = in_thread(lambda: client.delete(url), answers, errors)
        wait_for_blocked_backend()
        remove_member(member)
    second.join()

    assert not errors, errors
    [answer] = answers
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


def test_an_account_of_no_tenant_is_told_so_not_that_its_role_forbids(api):
    """A new account (or one removed from its tenant) has no role to blame: the refusal says
    what to do. A member whose role lacks the power still hears about its role."""
    loner = UserFactory()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, loner)['access']}")

    for path in ("/api/v1/orders", "/api/v1/devices", "/api/v1/invoices", "/api/v1/usage"):
        response = api.get(path)
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
        assert "member of none" in response.json()["detail"], path


def test_a_role_without_the_power_is_told_about_its_role(member_client):
    client, _ = member_client("developer")

    response = client.get("/api/v1/orders")

    assert response.json()["detail"] == "Your role in this tenant does not allow this action."


def test_a_deactivated_account_is_not_added_and_the_answer_says_why(member_client):
    """It cannot sign in: it was added and shown as a member who could never use the team.
    Refused at the API and the portal's team page (one action), nothing written."""
    client, _ = member_client("admin")
    gone = UserFactory(email="left@example.com", is_active=False)
    refused = client.post(
        "/api/v1/tenant/members", {"email": "LEFT@example.com", "role": "operator"}, format="json"
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "account_deactivated")
    assert refused.json()["field"] == "email"
    assert "deactivated" in refused.json()["detail"]
    assert not Membership.objects.filter(user=gone).exists()
    assert not AuditEvent.objects.filter(action="membership_created", target=gone.email).exists()
