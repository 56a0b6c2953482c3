"""A tenant admin's audit trail (GET /api/v1/tenant/audit-events) shows what EdgePlug's
platform staff did to the tenant's objects as done by platform staff, without who it was or
the address they worked from: staff identities are not told to tenants (docs/roles.md). Its
own members' events are shown as recorded. Who was staff is recorded with the event, so a
staff member who leaves the staff, or whose account is deleted, stays hidden."""

import ipaddress
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import sign_in, totp_now
from tests.factories import (
    AgentVersionFactory,
    TOTPDeviceFactory,
    UserFactory,
    WorkflowPackageFactory,
    staff_member,
)
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db

STAFF_IP = "198.51.100.77"
MEMBER_IP = "203.0.113.5"


def _approved_by_a_reviewer(tenant, reviewer=None):
    """A reviewer (``staff_member("reviewers")`` unless given) approves one of the tenant's
    workflow packages, at the API, from STAFF_IP."""
    version = AgentVersionFactory(agent__tenant=tenant, public=True)
    step = {"agent": f"{tenant.slug}/{version.agent.name}", "version": version.version}
    wpk = WorkflowPackageFactory(tenant=tenant, content={"steps": [step]})
    reviewer = reviewer or staff_member("reviewers")
    client = APIClient(REMOTE_ADDR=STAFF_IP)
    tokens = sign_in(client, reviewer, otp=totp_now(reviewer.device))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    decided = client.post(
        f"/api/v1/wpk/review/{wpk.pk}", {"decision": "approve", "reason": "ok"}, format="json"
    )
    assert decided.status_code == 200, decided.json()
    return reviewer


def _rows(client, action):
    response = client.get("/api/v1/tenant/audit-events", {"action": action})
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_a_staff_members_action_is_shown_as_platform_staffs_without_email_or_address(
    member_client,
):
    client, membership = member_client("admin", is_vendor=True)
    reviewer = _approved_by_a_reviewer(membership.tenant)
    (row,) = _rows(client, "wpk_approved")
    assert (row["actor_email"], row["ip"], row["by_platform_staff"]) == (None, None, True)
    assert reviewer.email not in repr(row) and STAFF_IP not in repr(row)


@pytest.mark.parametrize("ordering", ["actor_email", "-actor_email", "ip", "-ip"])
def test_ordering_the_trail_tells_nothing_of_the_hidden_email_or_address(member_client, ordering):
    """The list orders by actor_email and ip as shown: a staff member's event sorts as if
    both were null, at one end, never between the members whose e-mails and addresses
    surround the hidden ones."""
    client, membership = member_client("admin", is_vendor=True)
    tenant = membership.tenant
    reviewer = staff_member("reviewers")
    reviewer.email = "mallory@example.com"  # between alice@ and the admin's user…@
    reviewer.save()
    _approved_by_a_reviewer(tenant, reviewer)  # from STAFF_IP, between these two members'
    alice = UserFactory(email="alice@example.com")
    for who, address in ((membership.user, MEMBER_IP), (alice, "192.0.2.1")):
        api = APIClient(REMOTE_ADDR=address)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, who)['access']}")
        added = api.post(
            "/api/v1/tenant/members", {"email": UserFactory().email, "role": "developer"}
        )
        assert added.status_code == 201, added.json()
        if who is membership.user:
            admin = {"email": alice.email, "role": "admin"}
            assert api.post("/api/v1/tenant/members", admin).status_code == 201
    response = client.get("/api/v1/tenant/audit-events", {"ordering": ordering})
    assert response.status_code == 200, response.json()
    rows = response.json()["results"]
    field = ordering.lstrip("-")
    shown = [row[field] for row in rows if row[field] is not None]
    assert len(set(shown)) >= 2  # members on both sides of the hidden value
    assert shown == sorted(shown, reverse=ordering.startswith("-"), key=_sort_key(field))
    staff_at = [at for at, row in enumerate(rows) if row["by_platform_staff"]]
    assert staff_at in ([0], [len(rows) - 1]), [(r[field], r["by_platform_staff"]) for r in rows]
    assert reviewer.email not in repr(rows) and STAFF_IP not in repr(rows)


def _sort_key(field):
    return ipaddress.ip_address if field == "ip" else str


def test_the_tenants_own_members_are_shown_as_recorded_staff_or_not(member_client):
    """A member's action is the tenant's own, whoever the member is: one who is also in a
    staff group (superusers may add staff to a tenant) is shown too."""
    client, membership = member_client("admin", is_vendor=True)
    admin = APIClient(REMOTE_ADDR=MEMBER_IP)
    admin.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(admin, membership.user)['access']}")
    newcomer = UserFactory()
    added = admin.post(
        "/api/v1/tenant/members", {"email": newcomer.email, "role": "developer"}, format="json"
    )
    assert added.status_code == 201, added.json()
    membership.user.groups.add(Group.objects.get(name="finance"))
    (row,) = _rows(client, "membership_created")
    assert (row["actor_email"], row["ip"], row["by_platform_staff"]) == (
        membership.user.email,
        MEMBER_IP,
        False,
    )


def _reviewer_by_group_alone():
    """A reviewer who is staff by the reviewers group alone, "staff status" never ticked."""
    reviewer = UserFactory(is_staff=False)
    reviewer.groups.add(Group.objects.get(name="reviewers"))
    reviewer.device = TOTPDeviceFactory(user=reviewer)
    return reviewer


def _superuser_in_no_staff_group():
    """A platform admin who is staff by the admin's flags alone (staff status, superuser)."""
    admin = UserFactory(is_staff=True, is_superuser=True)
    admin.device = TOTPDeviceFactory(user=admin)
    return admin


def _taken_out_of_the_staff_groups(user):
    user.groups.clear()


def _staff_status_unticked(user):
    user.is_staff = user.is_superuser = False
    user.save()


@pytest.mark.parametrize(
    ("staff", "leaves"),
    [
        (_reviewer_by_group_alone, _taken_out_of_the_staff_groups),
        (_superuser_in_no_staff_group, _staff_status_unticked),
    ],
    ids=["taken out of the staff groups", "staff status unticked"],
)
def test_a_staff_member_who_leaves_the_staff_stays_hidden_in_what_they_did(
    member_client, staff, leaves
):
    client, membership = member_client("admin", is_vendor=True)
    reviewer = _approved_by_a_reviewer(membership.tenant, staff())
    leaves(reviewer)
    (row,) = _rows(client, "wpk_approved")
    assert (row["actor_email"], row["ip"], row["by_platform_staff"]) == (None, None, True)
    assert reviewer.email not in repr(row) and STAFF_IP not in repr(row)


@pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="on PostgreSQL the append-only audit log refuses to delete an account it names "
    "(setting its events' actor to null is a change)",
)
def test_a_deleted_staff_account_stays_hidden_in_what_it_did(member_client):
    client, membership = member_client("admin", is_vendor=True)
    reviewer = _approved_by_a_reviewer(membership.tenant)
    reviewer.delete()
    (row,) = _rows(client, "wpk_approved")
    assert (row["actor_email"], row["ip"], row["by_platform_staff"]) == (None, None, True)
    assert reviewer.email not in repr(row) and STAFF_IP not in repr(row)


def _written_by_code_before_audit_0003(old_event, tenant, actors):
    """One ``wpk_approved`` event of ``tenant`` by each of ``actors``, from STAFF_IP, as the code
    from before audit 0003 wrote it (``old_event``: the model as that code knew it, without
    by_platform_staff)."""
    for actor in actors:
        old_event.objects.create(
            action="wpk_approved",
            actor_id=actor.pk,
            actor_email=actor.email,
            tenant_id=tenant.pk,
            ip=STAFF_IP,
        )


def _shown_by_staff_only(client, reviewer, member_in_finance):
    """The reviewer's event is shown as platform staff's; the member's (in a staff group) and a
    plain user's are shown as recorded."""
    shown = {
        (row["actor_email"], row["by_platform_staff"]) for row in _rows(client, "wpk_approved")
    }
    assert (None, True) in shown and (member_in_finance.email, False) in shown
    assert len(shown) == 3 and reviewer.email not in repr(shown)


@pytest.mark.django_db(transaction=True)  # migrating (SQLite's schema editor) needs no atomic
def test_events_written_before_the_flag_are_marked_by_who_is_staff_outside_the_tenant(
    member_client,
):
    """Migration audit 0003 marks the events written before it by today's staff (the best
    knowledge there is), a member of the event's tenant in a staff group not."""
    client, membership = member_client("admin", is_vendor=True)
    tenant, reviewer = membership.tenant, staff_member("reviewers")
    member_in_finance = membership.user
    member_in_finance.groups.add(Group.objects.get(name="finance"))
    with migrated_back("audit", "0002_append_only_trigger") as migrator:
        actors = (reviewer, member_in_finance, UserFactory())
        _written_by_code_before_audit_0003(migrator.old_model("AuditEvent"), tenant, actors)
        migrator.forward("0003_by_platform_staff")
    _shown_by_staff_only(client, reviewer, member_in_finance)


@pytest.mark.django_db(transaction=True)
def test_staff_events_the_previous_release_wrote_while_audit_0003_rolled_out_are_hidden(
    member_client,
):
    """The migrate Job applied audit 0003, then the previous release's web pods served on until
    the rollout ended: their events (that code did not know the column) took its database
    default, false, a reviewer's among them, and the trail showed who it was. Audit 0005 marks
    them as 0003 marked the older ones."""
    client, membership = member_client("admin", is_vendor=True)
    tenant, reviewer = membership.tenant, staff_member("reviewers")
    member_in_finance = membership.user
    member_in_finance.groups.add(Group.objects.get(name="finance"))
    with migrated_back("audit", "0004_auditevent_audit_tenant_trail_order") as migrator:
        old_event = migrator.old_model("AuditEvent", as_of="0002_append_only_trigger")
        actors = (reviewer, member_in_finance, UserFactory())
        _written_by_code_before_audit_0003(old_event, tenant, actors)
        assert reviewer.email in repr(_rows(client, "wpk_approved"))  # as the rollout left it
        migrator.forward("0005_mark_events_by_staff_again")
    _shown_by_staff_only(client, reviewer, member_in_finance)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("applied_after_the_events", "hidden"),
    [
        # An old pod's insert waited behind 0003's ALTER TABLE with its created_at stamped
        # before 0003 was recorded applied (and pods' clocks differ): marked all the same.
        (timedelta(minutes=10), True),
        # Written well before 0003 (which judged them): 0003's verdict stands, and the audit
        # log's older events are not rewritten (its inserts wait meanwhile).
        (timedelta(days=1, hours=1), False),
    ],
)
def test_audit_0005_marks_what_was_written_from_a_day_before_0003(
    member_client, applied_after_the_events, hidden
):
    client, membership = member_client("admin", is_vendor=True)
    tenant, reviewer = membership.tenant, staff_member("reviewers")
    recorded_0003 = MigrationRecorder(connection).migration_qs.get(
        app="audit", name="0003_by_platform_staff"
    )
    applied = recorded_0003.applied
    with migrated_back("audit", "0004_auditevent_audit_tenant_trail_order") as migrator:
        old_event = migrator.old_model("AuditEvent", as_of="0002_append_only_trigger")
        _written_by_code_before_audit_0003(old_event, tenant, (reviewer,))
        recorded_0003.applied = timezone.now() + applied_after_the_events
        recorded_0003.save(update_fields=["applied"])
        try:
            migrator.forward("0005_mark_events_by_staff_again")
        finally:
            recorded_0003.applied = applied
            recorded_0003.save(update_fields=["applied"])
    assert (reviewer.email not in repr(_rows(client, "wpk_approved"))) is hidden
