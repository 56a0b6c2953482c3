"""A PaymentIntent whose metadata names a pending order (its charge's answer lost) completes
it only when it is that charge: the tenant's Stripe customer, the order's currency and amount.
Any other changes nothing and is told to finance, once per intent."""

import pytest

from billing.models import DeletedStripeCustomer, MoneyToGiveBack, StripeCustomer, WebhookEvent
from billing.payments import forget_deleted_customer
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from tests.commerce.conftest import event, payment_in_stripe, signed_webhook, stripe_client

pytestmark = pytest.mark.django_db


def deliver(api, event_id, intent):
    payload = event(event_id, "payment_intent.succeeded", {"id": intent.id})
    assert signed_webhook(api, payload).status_code == 200
    return WebhookEvent.objects.get(event_id=event_id).outcome


def test_another_customers_payment_naming_a_pending_order_does_not_pay_it(pending_order, api):
    order, _ = pending_order  # 15.00 EUR, its charge not made yet (a processor error)
    named = {"order": str(order.pk), "tenant": str(order.tenant_id)}
    intent = payment_in_stripe(named, amount=50, currency="usd")

    outcome = deliver(api, "evt_foreign_order", intent)
    deliver(api, "evt_foreign_order_again", intent)

    order.refresh_from_db()
    assert (order.status, order.payment_intent_id) == ("pending", "")
    assert not Entitlement.objects.exists()
    assert outcome.startswith("payment_not_ours"), outcome
    [told] = AuditEvent.objects.filter(action="payment_not_ours")
    assert told.target == f"order {order.pk}"
    assert (told.details["payment_intent"], told.details["customer"]) == (
        intent.id,
        intent.customer,
    )


def test_the_tenants_own_payment_of_another_sum_does_not_pay_the_order(pending_order, api):
    order, _ = pending_order
    own = StripeCustomer.objects.get(tenant=order.tenant).customer_id
    named = {"order": str(order.pk), "tenant": str(order.tenant_id)}
    intent = payment_in_stripe(named, amount=50, currency="eur", customer=own)

    assert deliver(api, "evt_other_sum", intent).startswith("payment_not_ours")

    order.refresh_from_db()
    assert (order.status, order.payment_intent_id) == ("pending", "")
    assert not Entitlement.objects.exists()


def test_the_charge_whose_answer_was_lost_still_completes_the_order(pending_order, api):
    order, _ = pending_order
    own = StripeCustomer.objects.get(tenant=order.tenant).customer_id
    named = {"order": str(order.pk), "tenant": str(order.tenant_id)}
    intent = payment_in_stripe(named, amount=1500, currency="eur", customer=own)

    assert deliver(api, "evt_lost_answer", intent) == f"order {order.pk} completed"

    order.refresh_from_db()
    assert (order.status, order.payment_intent_id) == ("completed", intent.id)
    assert Entitlement.objects.get().status == "active"


def paid_by_a_deleted_customer(order, amount: int):
    """A payment naming the order (EUR, ``amount``) made on the tenant's Stripe customer,
    which Stripe then deleted (told by webhook): the succeeded PaymentIntent."""
    old = StripeCustomer.objects.get(tenant=order.tenant).customer_id
    named = {"order": str(order.pk), "tenant": str(order.tenant_id)}
    intent = payment_in_stripe(named, amount=amount, currency="eur", customer=old)
    stripe_client().v1.customers.delete(old)
    assert forget_deleted_customer(old) is not None
    return intent


def test_a_charge_of_the_tenants_deleted_customer_still_completes_the_order(pending_order, api):
    """The charge was made on the tenant's customer of then (its answer lost, or 3-D Secure
    finished late); Stripe deleted that customer since and a new card made a new one: the
    money taken is still the tenant's payment. It was refused as another customer's."""
    order, _ = pending_order
    intent = paid_by_a_deleted_customer(order, 1500)
    StripeCustomer.objects.create(tenant=order.tenant, customer_id="cus_new_one")

    assert deliver(api, "evt_late", intent) == f"order {order.pk} completed"

    order.refresh_from_db()
    assert (order.status, order.payment_intent_id) == ("completed", intent.id)
    assert not MoneyToGiveBack.objects.exists()


def test_a_customer_the_tenant_had_before_is_known_by_its_own_row(pending_order, api):
    """The tenant's customers of before are the tenant's state (``DeletedStripeCustomer``),
    not read back from the audit log: a charge on one completes the order."""
    order, _ = pending_order
    old = StripeCustomer.objects.get(tenant=order.tenant)
    named = {"order": str(order.pk), "tenant": str(order.tenant_id)}
    intent = payment_in_stripe(named, amount=1500, currency="eur", customer=old.customer_id)
    old.delete()
    DeletedStripeCustomer.objects.create(tenant=order.tenant, customer_id=intent.customer)

    assert deliver(api, "evt_before", intent) == f"order {order.pk} completed"


def test_a_refused_payment_charged_to_a_deleted_customer_of_ours_is_listed_for_finance(
    pending_order, api
):
    """0.50 taken from the tenant's customer of before (Stripe deleted it since): still our
    customer's money, so finance sees it on *Money to give back*."""
    order, _ = pending_order
    intent = paid_by_a_deleted_customer(order, 50)

    assert deliver(api, "evt_ours_before", intent).startswith("payment_not_ours")

    [row] = MoneyToGiveBack.objects.all()
    assert (row.details["payment_intent"], row.details["ours"]) == (intent.id, True)


def test_a_refused_payment_charged_to_a_customer_of_ours_is_listed_for_finance(pending_order, api):
    """The tenant's own card charged 0.50 naming the order: it pays nothing, but the money
    was taken from our customer, so finance sees it on *Money to give back*; a stranger's
    refused payment is not listed."""
    order, _ = pending_order
    own = StripeCustomer.objects.get(tenant=order.tenant).customer_id
    named = {"order": str(order.pk), "tenant": str(order.tenant_id)}
    ours = payment_in_stripe(named, amount=50, currency="eur", customer=own)
    stranger = payment_in_stripe(named, amount=50, currency="eur")

    assert deliver(api, "evt_ours", ours).startswith("payment_not_ours")
    assert deliver(api, "evt_stranger", stranger).startswith("payment_not_ours")

    [row] = MoneyToGiveBack.objects.all()
    assert (row.action, row.details["payment_intent"]) == ("payment_not_ours", ours.id)
    assert row.amount_text == "0.50 EUR"
    assert AuditEvent.objects.filter(action="payment_not_ours").count() == 2
