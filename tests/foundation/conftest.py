"""Fixtures of the foundation tests."""

import pytest
from django.contrib.auth.models import Group
from django.db import OperationalError
from django.db.models.signals import pre_save
from django.test import Client

from edgeplug.audit.models import AuditEvent
from tests.factories import UserFactory


@pytest.fixture
def staff(db):
    """A platform admin (staff, superuser) with no TOTP device yet: each test adds its own."""
    user = UserFactory(is_staff=True, is_superuser=True)
    user.groups.add(Group.objects.get(name="platform-admins"))
    return user


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    """The OpenAPI schema the API serves, as JSON (built once per module)."""
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def audit_insert_fails():
    """audit_insert_fails(action): writing an ``action`` audit event raises the database error
    a full disk raises, as the insert would."""
    refusals = []

    def fail(action: str) -> None:
        def refuse(instance, **kwargs):
            if instance.action == action:
                raise OperationalError("could not extend file: No space left on device")

        pre_save.connect(refuse, sender=AuditEvent, weak=False)
        refusals.append(refuse)

    yield fail
    for refuse in refusals:
        pre_save.disconnect(refuse, sender=AuditEvent)
