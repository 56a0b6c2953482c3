"""A row that must be new, created by several requests at once: the unique constraint decides,
and every loser gets the action's conflict error, never a database error."""

import pytest
from django.db import IntegrityError

from edgeplug.core.locking import unique_or
from edgeplug.errors import Conflict
from edgeplug.tenancy.models import Tenant
from edgeplug.tenancy.services import create_tenant
from tests.concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_tenant_created_four_times_at_once_lands_once_and_the_rest_conflict():
    def create(n: int) -> str:
        try:
            create_tenant(name=f"Acme {n}", slug="acme")
        except Conflict as exc:
            return exc.code
        return "created"

    outcomes = race(create, range(4))

    assert sorted(outcomes) == ["created", "tenant_exists", "tenant_exists", "tenant_exists"]
    assert Tenant.objects.filter(slug="acme").count() == 1


def test_a_conflict_rolls_back_only_its_own_block():
    create_tenant(name="Acme", slug="acme")
    with pytest.raises(Conflict) as raised:
        create_tenant(name="Acme again", slug="acme")
    assert raised.value.code == "tenant_exists"
    assert "acme" in str(raised.value)
    create_tenant(name="Beta", slug="beta")  # the connection is still usable
    assert sorted(Tenant.objects.values_list("slug", flat=True)) == ["acme", "beta"]


def test_only_a_broken_unique_constraint_becomes_the_conflict():
    neither = Tenant(name="Neither", slug="neither", is_vendor=False, is_customer=False)
    conflict = Conflict("exists", code="tenant_exists")
    # A check constraint broken is a bug, not "it exists": raised as it is.
    with pytest.raises(IntegrityError), unique_or(conflict):
        neither.save()
