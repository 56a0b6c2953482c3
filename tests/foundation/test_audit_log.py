"""Audit events are written for security-relevant actions and can never be changed."""

import pytest
from django.db import DatabaseError, connection, transaction

from edgeplug.audit.models import AppendOnlyError, AuditEvent
from tests.conftest import sign_in
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_successful_and_failed_sign_in_are_recorded_with_ip(api):
    membership = MembershipFactory()
    sign_in(api, membership.user)
    api.post(
        "/api/v1/auth/token", {"email": membership.user.email, "password": "bad"}, format="json"
    )
    login = AuditEvent.objects.get(action="login")
    assert login.actor == membership.user
    assert login.tenant == membership.tenant
    assert login.ip == "127.0.0.1"
    assert login.request_id
    failed = AuditEvent.objects.get(action="login_failed")
    assert failed.actor is None
    assert failed.target == membership.user.email


def test_events_cannot_be_changed_or_deleted_through_the_orm():
    event = AuditEvent.objects.create(action="test")
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only"
)
def test_database_refuses_update_and_delete_on_postgresql():
    event = AuditEvent.objects.create(action="test")
    for sql in (
        "UPDATE audit_auditevent SET action='x' WHERE id=%s",
        "DELETE FROM audit_auditevent WHERE id=%s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test"
