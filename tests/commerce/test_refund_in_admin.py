"""Finance refunds an order in full in the admin: money back, entitlement revoked, audited."""

import pytest

from billing import invoicing
from billing.models import Invoice
from billing.periods import month_start, previous_month
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, Order
from tests.commerce.conftest import (
    ORDERS_URL,
    admin_client,
    confirm_refund,
    place_order,
    refund_confirmation,
    refund_in_admin,
    save_card,
    stripe_client,
)
from tests.invoicing.conftest import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(stripe_on, customer, agent, make_plan):
    client, _ = customer
    plan = make_plan("one_time", currency="USD", amount=1900)
    save_card(client)
    body = place_order(client, agent, plan, "paid").json()
    assert body["status"] == "completed"
    return Order.objects.get(pk=body["id"])


def test_finance_refunds_in_full_and_the_entitlement_is_revoked(paid_order):
    client, user = admin_client("finance")
    listed = client.get(ORDERS_URL)
    assert listed.status_code == 200
    assert '<td class="field-amount_shown">19.00 USD</td>' in listed.content.decode()
    page = refund_confirmation(client, paid_order.pk)
    assert "19.00 USD" in page.content.decode()
    assert Order.objects.get(pk=paid_order.pk).status == "completed"  # asked only
    response = confirm_refund(client, page)
    assert response.status_code == 200
    assert f"Order {paid_order.pk} refunded." in response.content.decode()
    paid_order.refresh_from_db()
    assert paid_order.status == "refunded"
    assert Entitlement.objects.get(order=paid_order).status == "revoked"
    intent = stripe_client().v1.payment_intents.retrieve(paid_order.payment_intent_id)
    charge_id = getattr(intent.latest_charge, "id", intent.latest_charge)
    assert stripe_client().v1.charges.retrieve(charge_id).amount_refunded == 1900
    event = AuditEvent.objects.get(action="order_refunded")
    assert (event.actor, event.details["source"]) == (user, "admin")
    # The same confirmation sent again changes nothing, and says why.
    again = confirm_refund(client, page).content.decode()
    assert f"Order {paid_order.pk}: Order {paid_order.pk} is refunded; only completed" in again
    assert AuditEvent.objects.filter(action="order_refunded").count() == 1
    # Asked anew, the order is not refundable: there is nothing to confirm.
    asked = refund_confirmation(client, paid_order.pk)
    assert b'id="refund-none"' in asked.content and b'name="post"' not in asked.content


def test_reviewers_cannot_refund(paid_order):
    client, _ = admin_client("reviewers")
    chosen = {"action": "refund_in_full", "index": 0, "_selected_action": [paid_order.pk]}
    assert client.post(ORDERS_URL, {**chosen, "post": "yes"}).status_code == 403
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

    response = refund_in_admin(client, paid_order.pk)

    note = Invoice.objects.get(credit_of=invoice)
    assert note.total == -invoice.total and note.lines.get().order == paid_order
    page = response.content.decode()
    assert f"Credit note {note.number} gives back invoice {invoice.number}." in page
