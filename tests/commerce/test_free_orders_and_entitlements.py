"""A free plan is bought at once; the entitlement keeps the terms bought, in its tenant only."""

from datetime import timedelta
from functools import partial

import pytest
from django.db import transaction
from django.utils import timezone

from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Role
from marketplace.catalogue import refresh_listing
from marketplace.models import CatalogueListing, Entitlement
from marketplace.orders import lock_standing
from tests.commerce.conftest import buy_free, place_order
from tests.concurrency import in_thread, needs_row_locks, wait_for_blocked_backend
from tests.factories import EntitlementFactory

pytestmark = pytest.mark.django_db


buy = partial(place_order, key="k", seats=2)


def test_free_order_completes_at_once_with_an_entitlement(customer, agent, make_plan):
    client, membership = customer
    plan = make_plan("free")
    response = buy(client, agent, plan)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["amount"], body["seats"]) == ("completed", 0, 2)
    listed = client.get("/api/v1/entitlements").json()["results"]
    assert [(e["agent"], e["status"], e["seats"], e["order"]) for e in listed] == [
        (agent.pk, "active", 2, body["id"])
    ]
    assert listed[0]["plan"]["key"] == plan.key and body["entitlement"] == listed[0]["id"]
    assert set(
        AuditEvent.objects.filter(tenant=membership.tenant).values_list("action", flat=True)
    ) >= {"order_placed", "entitlement_granted"}


def test_billing_role_may_order_and_any_member_sees_entitlements(member_client, agent, make_plan):
    plan = make_plan("free")
    billing, membership = member_client(Role.BILLING)
    assert buy(billing, agent, plan).status_code == 201
    operator, _ = member_client(Role.OPERATOR, tenant=membership.tenant)
    assert operator.get("/api/v1/entitlements").json()["count"] == 1
    assert operator.get("/api/v1/orders").status_code == 403


def test_other_tenants_orders_and_entitlements_are_404(member_client, agent, make_plan):
    plan = make_plan("free")
    alice, _ = member_client("admin")
    bob, _ = member_client("admin")
    order = buy(alice, agent, plan).json()
    entitlement = Entitlement.objects.get()
    assert bob.get(f"/api/v1/orders/{order['id']}").status_code == 404
    assert bob.get(f"/api/v1/entitlements/{entitlement.pk}").status_code == 404
    assert bob.get("/api/v1/orders").json()["count"] == 0
    assert bob.get("/api/v1/entitlements").json()["count"] == 0
    assert alice.get(f"/api/v1/orders/{order['id']}").status_code == 200
    assert alice.get(f"/api/v1/entitlements/{entitlement.pk}").status_code == 200


def test_entitlements_past_their_validity_expire_and_stop_downloads(
    customer, agent, published, make_plan
):
    from datetime import timedelta

    from django.utils import timezone

    from marketplace.tasks import expire_entitlements

    client, _ = customer
    buy(client, agent, make_plan("free"))
    Entitlement.objects.update(valid_until=timezone.now() - timedelta(seconds=1))
    assert expire_entitlements() == 1
    assert Entitlement.objects.get().status == "expired"
    url = f"/api/v1/agents/{agent.pk}/versions/{published.version}/download"
    assert client.get(url).status_code == 403
    assert expire_entitlements() == 0


@needs_row_locks
@pytest.mark.django_db(transaction=True)  # a held transaction and a request on two connections
def test_two_tenants_ordering_at_once_are_both_counted_in_the_catalogue(
    customer, member_client, agent, make_plan
):
    """Each refresh counted only its own new entitlement (the other not yet committed), so
    both wrote 1: the catalogue's popularity lost an order until the next full refresh."""
    plan, other_plan = make_plan("free"), make_plan("free", key="community")
    _, first_tenant = customer
    second, _ = member_client("admin")
    answers, errors = [], []

    with transaction.atomic():  # the end of the first tenant's order, not yet committed
        EntitlementFactory(tenant=first_tenant.tenant, agent=agent, plan=plan)
        refresh_listing(agent)
        order = partial(place_order, second, agent, other_plan, "second")
        other = in_thread(order, answers, errors)
        wait_for_blocked_backend()  # its listing refresh waits for this one
    other.join()

    assert not errors, errors
    [answer] = answers
    assert answer.status_code == 201, answer.json()
    assert CatalogueListing.objects.get(agent=agent).active_entitlements == 2


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_an_order_placed_while_another_of_the_plan_completes_waits_and_lands(
    customer, agent, make_plan
):
    """Completing an order (the tenant's standing held, its entitlement naming the plan) and
    placing another on that plan (the plan locked, then waiting for the standing): the
    completion's foreign-key check of the plan at commit waited for the plan's lock, a
    deadlock, when that lock was FOR UPDATE."""
    client, membership = customer
    plan = make_plan("free")
    answers, errors = [], []

    with transaction.atomic():  # an earlier order of the tenant completing
        lock_standing(membership.tenant)
        EntitlementFactory(tenant=membership.tenant, agent=agent, plan=plan)
        other = in_thread(partial(place_order, client, agent, plan, "second"), answers, errors)
        wait_for_blocked_backend()  # the new order holds the plan and waits for the standing
    other.join()

    assert not errors, errors
    [answer] = answers
    assert answer.status_code == 201, answer.json()
    assert Entitlement.objects.filter(tenant=membership.tenant, plan=plan).count() == 2


def test_orders_filter_by_status(customer, agent, make_plan):
    """Before: ?status= was ignored, so ?status=failed listed the completed order."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    (completed,) = client.get("/api/v1/orders?status=completed").json()["results"]
    assert completed["status"] == "completed"
    assert client.get("/api/v1/orders?status=failed").json()["count"] == 0
    refused = client.get("/api/v1/orders?status=lost")
    assert refused.status_code == 400


def test_an_entitlement_whose_validity_ended_reads_expired_before_the_job_marks_it(
    customer, agent, make_plan
):
    """Between its end and the expiry job's next run (every 15 minutes) it read "active",
    while downloads and the device's assignments already treated it as expired."""
    client, _ = customer
    assert buy(client, agent, make_plan("free")).status_code == 201
    entitlement = Entitlement.objects.get()
    now = timezone.now()
    Entitlement.objects.filter(pk=entitlement.pk).update(
        valid_from=now - timedelta(days=30), valid_until=now - timedelta(minutes=1)
    )

    assert client.get(f"/api/v1/entitlements/{entitlement.pk}").json()["status"] == "expired"
    expired = client.get("/api/v1/entitlements", {"status": "expired"}).json()["results"]
    assert [e["id"] for e in expired] == [entitlement.pk]
    assert client.get("/api/v1/entitlements", {"status": "active"}).json()["count"] == 0
    assert Entitlement.objects.get().status == "active"  # the job has not run: not stored
    assert client.get("/api/v1/entitlements", {"ordering": "-status"}).status_code == 200
