"""A declined invoice is retried 1, 3 and 7 days after the first failure (the beat job), with
a notice each time; after the last it is uncollectible and the tenant's entitlements are
suspended, which its devices see; a later payment gives them back."""

import pytest
from rest_framework.test import APIClient

from billing import collection, tasks
from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace import orders, plans
from marketplace.models import Entitlement, EntitlementStatus, Order
from tests.commerce.conftest import place_order
from tests.commerce.test_deployments import deploy, register
from tests.dunning.conftest import (
    DECLINED,
    GOOD,
    days,
    intents_of,
    save_card,
    signed_in,
    twin_of,
)
from tests.factories import AgentFactory, EntitlementFactory, TenantFactory

pytestmark = pytest.mark.django_db


def retry_due(committed):
    return committed(tasks.retry_due_invoice_payments)


def test_declines_are_retried_after_1_3_and_7_days_then_the_tenant_is_suspended(
    invoiced, committed, clock, notices
):
    customer, invoice = invoiced(card=DECLINED)
    assert invoice.status == InvoiceStatus.PAYMENT_FAILED
    assert invoice.payment_failure_code == "card_declined"
    assert invoice.next_payment_attempt_at == days(1)
    assert [m.subject for m in notices] == [f"Payment failed for invoice {invoice.number}"]
    assert "2026-02-05" in notices[0].body

    clock.move_to(days(1) - collection.timedelta(minutes=1))
    assert retry_due(committed) == {"attempted": {}, "errors": {}}  # not due yet

    for attempt, now, next_at in ((2, days(1), days(3)), (3, days(3), days(7))):
        clock.move_to(now)
        assert retry_due(committed)["attempted"] == {invoice.number: "payment_failed"}
        invoice.refresh_from_db()
        assert (invoice.payment_attempts, invoice.next_payment_attempt_at) == (attempt, next_at)
        entitlement = Entitlement.objects.get(pk=customer.entitlement.pk)
        assert entitlement.status == EntitlementStatus.ACTIVE

    clock.move_to(days(7))
    assert retry_due(committed)["attempted"] == {invoice.number: "uncollectible"}
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    assert invoice.payment_attempts == 4 and invoice.next_payment_attempt_at is None
    entitlement = Entitlement.objects.get(pk=customer.entitlement.pk)
    assert entitlement.status == EntitlementStatus.SUSPENDED
    assert invoice.number in entitlement.status_reason

    # One intent per attempt, each under its own key; nothing is charged twice.
    intents = intents_of(customer.tenant)
    assert [i.metadata["attempt"] for i in intents] == ["1", "2", "3", "4"]
    assert {i.status for i in intents} == {"requires_payment_method"}
    assert [m.subject for m in notices] == [
        *[f"Payment failed for invoice {invoice.number}"] * 3,
        f"Invoice {invoice.number} could not be collected: entitlements suspended",
    ]
    assert all(m.to == ["ap@acme.example"] for m in notices)
    failed = AuditEvent.objects.filter(action="invoice_payment_failed").order_by("id")
    assert [e.details["attempt"] for e in failed] == [1, 2, 3, 4]
    assert AuditEvent.objects.filter(action="invoice_uncollectible").count() == 1
    assert AuditEvent.objects.get(action="entitlement_suspended").target == (
        f"entitlement {entitlement.pk}"
    )

    clock.move_to(days(30))
    assert retry_due(committed) == {"attempted": {}, "errors": {}}  # dunning is over


def test_a_new_card_and_a_retry_pay_and_reactivate(invoiced, committed, clock, settings):
    settings.BILLING_DUNNING_DAYS = [1]
    customer, invoice = invoiced(card=DECLINED)
    clock.move_to(days(1))
    retry_due(committed)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "suspended"

    api = signed_in(customer)
    card = save_card(api, GOOD)
    assert api.post(f"/api/v1/billing/payment-methods/{card['id']}/default").status_code == 200
    attempt = collection.retry_invoice_payment(invoice)
    assert attempt.outcome == InvoiceStatus.PAID
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status_reason == ""
    assert AuditEvent.objects.filter(action="entitlement_reactivated").count() == 1


def test_dunning_days_come_from_the_setting(invoiced, committed, clock, settings):
    settings.BILLING_DUNNING_DAYS = [2, 5]
    _, invoice = invoiced(card=DECLINED)
    assert invoice.next_payment_attempt_at == days(2)
    clock.move_to(days(2))
    retry_due(committed)
    invoice.refresh_from_db()
    assert invoice.next_payment_attempt_at == days(5)
    clock.move_to(days(5))
    retry_due(committed)
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.UNCOLLECTIBLE


def test_another_uncollectible_invoice_keeps_the_tenant_suspended(uncollectible):
    customer, invoice = uncollectible
    # A second invoice of the tenant (in another currency) went uncollectible too.
    twin = twin_of(invoice)
    collection.record_offline_payment(invoice, reference="SEPA-1")
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "suspended"
    collection.record_offline_payment(twin, reference="SEPA-2")
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"


def test_devices_are_told_the_entitlement_is_suspended_and_run_again_once_paid(
    published, certificate, payer, finalize, committed, clock, settings
):
    settings.BILLING_DUNNING_DAYS = []
    customer = payer(card=DECLINED, agent=published.agent)
    device = register(customer.api, "hw-pump-1")
    assert deploy(customer.api, device, published).status_code == 201
    device_api = APIClient()
    device_api.credentials(HTTP_AUTHORIZATION=f"Device {device['token']}")
    assert len(device_api.get("/api/v1/device/assignments").json()["run"]) == 1

    invoice = finalize(customer.draft)
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    body = device_api.get("/api/v1/device/assignments").json()
    assert body["run"] == []
    (stop,) = body["stop"]
    assert (stop["reason"], stop["entitlement_status"]) == ("entitlement_inactive", "suspended")

    collection.record_offline_payment(invoice, reference="SEPA-2026-0001")
    body = device_api.get("/api/v1/device/assignments").json()
    assert body["stop"] == [] and len(body["run"]) == 1


def test_a_suspended_tenant_orders_nothing_until_it_pays(
    published, certificate, payer, finalize, clock, settings
):
    """A new order would give back, unpaid, what the uncollectible invoice suspended: a fresh
    active entitlement its devices run and bill on. Refused (402 payment_overdue) until the
    invoice is paid; then ordering works again."""
    settings.BILLING_DUNNING_DAYS = []
    customer = payer(card=DECLINED, agent=published.agent)
    invoice = finalize(customer.draft)
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    free = plans.create_plan(published.agent, key="trial", name="trial", kind="free")

    refused = place_order(customer.api, published.agent, free, "after-suspension")

    assert (refused.status_code, refused.json()["code"]) == (402, "payment_overdue")
    assert invoice.number in refused.json()["detail"]
    assert not Order.objects.filter(plan=free).exists()
    collection.record_offline_payment(invoice, reference="SEPA-2026-0002")
    assert place_order(customer.api, published.agent, free, "after-payment").status_code == 201


def test_a_suspension_refreshes_the_listings_of_its_agents_by_id(monkeypatch):
    """Listings are locked in one order everywhere (by agent id), so two suspensions, or a
    suspension and a vendor's rename, never wait for each other's. Before, they were
    refreshed in a set's iteration order, which is not by id: agents 1000009 and 1000002 came
    in that order (an int hashes to itself; of 8 slots, 1000009 takes slot 1 and 1000002
    slot 2), where a larger set, or another action, takes them the other way."""
    tenant = TenantFactory()
    for agent_id in (1_000_002, 1_000_009):
        EntitlementFactory(order__tenant=tenant, order__plan__agent=AgentFactory(pk=agent_id))
    refreshed = []
    monkeypatch.setattr(orders, "refresh_listing", lambda agent: refreshed.append(agent.pk))

    orders.suspend_for_non_payment(tenant, invoice_number="EP-2026-000001")

    assert refreshed == [1_000_002, 1_000_009]
