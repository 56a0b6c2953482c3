"""Fixtures of the foundation tests."""

import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory


@pytest.fixture
def staff(db):
    """A platform admin (staff, superuser) with no TOTP device yet: each test adds its own."""
    user = UserFactory(is_staff=True, is_superuser=True)
    user.groups.add(Group.objects.get(name="platform-admins"))
    return user
