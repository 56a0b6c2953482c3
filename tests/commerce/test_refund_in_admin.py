"""Finance refunds an order in full in the admin: money back, entitlement revoked, audited."""

import pytest

from billing import invoicing
from billing.models import Invoice
from billing.periods import month_start, previous_month
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import admin_client, place_order, save_card, stripe_client
from tests.invoicing.conftest import Customer

pytestmark = pytest.mark.django_db

ORDERS_URL = "/admin/marketplace/order/"


@pytest.fixture
def paid_order(stripe_on, customer, agent, make_plan):
    client, _ = customer
    plan = make_plan("one_time", currency="USD", amount=1900)
    save_card(client)
    body = place_order(client, agent, plan, "paid").json()
    assert body["status"] == "completed"
    return Order.objects.get(pk=body["id"])


def refund(client, order):
    return client.post(
        ORDERS_URL, {"action": "refund_in_full", "_selected_action": [order.pk]}, follow=True
    )


def test_finance_refunds_in_full_and_the_entitlement_is_revoked(paid_order):
    client, user = admin_client("finance")
    assert client.get(ORDERS_URL).status_code == 200
    response = refund(client, paid_order)
    assert response.status_code == 200
    paid_order.refresh_from_db()
    assert paid_order.status == "refunded"
    assert Entitlement.objects.get(order=paid_order).status == "revoked"
    intent = stripe_client().v1.payment_intents.retrieve(paid_order.payment_intent_id)
    charge_id = getattr(intent.latest_charge, "id", intent.latest_charge)
    assert stripe_client().v1.charges.retrieve(charge_id).amount_refunded == 1900
    event = AuditEvent.objects.get(action="order_refunded")
    assert (event.actor, event.details["source"]) == (user, "admin")
    refund(client, paid_order)  # a second click changes nothing
    assert AuditEvent.objects.filter(action="order_refunded").count() == 1


def test_reviewers_cannot_refund(paid_order):
    client, _ = admin_client("reviewers")
    refund(client, paid_order)
    paid_order.refresh_from_db()
    assert paid_order.status == "completed"
    assert Entitlement.objects.get(order=paid_order).status == "active"


def test_a_refund_of_an_invoiced_order_issues_its_credit_note(paid_order):
    """The order's month is invoiced already: the refund is given back by a credit note of
    that invoice, named on the page (docs/billing.md, refunds of orders invoiced already)."""
    Customer(paid_order.tenant, vendor=None).account(currency="USD")
    # Paid last month, whose invoice is finalized (a month is finalized once it has ended).
    month = previous_month(month_start(paid_order.completed_at))
    Order.objects.filter(pk=paid_order.pk).update(completed_at=month)
    (pk,) = invoicing.close_billing_period(month).created
    invoice = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))
    client, _ = admin_client("finance")

    response = refund(client, paid_order)

    note = Invoice.objects.get(credit_of=invoice)
    assert note.total == -invoice.total and note.lines.get().order == paid_order
    page = response.content.decode()
    assert f"Credit note {note.number} gives back invoice {invoice.number}." in page
