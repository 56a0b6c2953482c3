"""Fixtures of the foundation tests."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

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
