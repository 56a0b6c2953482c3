"""The 15-minute expiry job (``marketplace.orders.expire_entitlements``) rebuilds an agent's
catalogue listing once a run, however many of its entitlements lapse together (a year's
licences sold in one campaign, or the job catching up after beat was down): a rebuild locks
the agent and recounts its entitlements in force, so one a lapsed row was O(N²). It reads the
lapsed rows a chunk at a time, not all at once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from edgeplug.audit.models import AuditEvent
from marketplace import orders
from marketplace.models import Entitlement
from tests.factories import AgentFactory, EntitlementFactory, TenantFactory

pytestmark = pytest.mark.django_db

LAPSED, CHUNK = 40, 7


def _licences(agent, count: int) -> None:
    first = EntitlementFactory(order__plan__agent=agent)
    for _ in range(count - 1):
        EntitlementFactory(order__plan=first.plan, order__tenant=TenantFactory())


def test_each_agents_listing_is_rebuilt_once_a_run(monkeypatch):
    busy, quiet = AgentFactory(), AgentFactory()
    _licences(busy, LAPSED)
    _licences(quiet, 3)
    Entitlement.objects.update(valid_until=timezone.now() - timedelta(minutes=5))
    in_force = EntitlementFactory(order__plan__agent=busy)  # valid: stays active
    rebuilt, real = [], orders.refresh_listing
    monkeypatch.setattr(orders, "refresh_listing", lambda a: rebuilt.append(a.pk) or real(a))
    monkeypatch.setattr(
        orders, "EXPIRY_CHUNK", CHUNK, raising=False
    )  # the busy agent's rows span 6 chunks

    assert orders.expire_entitlements() == LAPSED + 3
    assert sorted(rebuilt) == sorted([busy.pk, quiet.pk]), (
        f"{LAPSED} lapsed entitlements of one agent rebuilt its listing "
        f"{rebuilt.count(busy.pk)} times"
    )
    assert Entitlement.objects.filter(status="expired").count() == LAPSED + 3
    assert Entitlement.objects.get(status="active") == in_force
    assert AuditEvent.objects.filter(action="entitlement_expired").count() == LAPSED + 3
    assert orders.expire_entitlements() == 0 and len(rebuilt) == 2
