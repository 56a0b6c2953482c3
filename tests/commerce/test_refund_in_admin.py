"""Finance refunds an order in full in the admin: money back, entitlement revoked, audited."""

import pytest
from lxml import html

from billing import collection, invoicing
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


def _paid_orders(customer, agent, plan, count: int) -> list[Order]:
    client, _ = customer
    save_card(client)
    bodies = [place_order(client, agent, plan, f"paid-{n}").json() for n in range(count)]
    assert {body["status"] for body in bodies} == {"completed"}
    return list(Order.objects.filter(pk__in=[body["id"] for body in bodies]).order_by("pk"))


@pytest.fixture
def paid_order(stripe_on, customer, agent, make_plan):
    (order,) = _paid_orders(customer, agent, make_plan("one_time", currency="USD", amount=1900), 1)
    return order


def _invoiced(orders: list[Order], *, paid: bool) -> Invoice:
    """The orders' month invoiced (19 % VAT), finalized (a month is finalized once it has
    ended), and paid by bank transfer when ``paid``."""
    Customer(orders[0].tenant, vendor=None).account(currency="USD")
    month = previous_month(month_start(orders[0].completed_at))
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(completed_at=month)
    (pk,) = invoicing.close_billing_period(month).created
    invoice = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))
    if paid:
        invoice = collection.record_offline_payment(invoice, reference="BANK-1")
    return invoice


def _said(page) -> tuple[dict[int, str], list[str]]:
    """What the confirmation page says each order's credit note gives back, and the money
    given back per currency."""
    tree = html.fromstring(page.content)
    notes = {
        int(row.get("data-order")): row.xpath('string(td[@class="refund-credit-note"])').strip()
        for row in tree.xpath('//tr[@class="refund-row"]')
    }
    totals = [li.text_content().strip() for li in tree.xpath('//ul[@id="refund-totals"]/li')]
    return notes, totals


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


def test_the_page_counts_the_vat_a_paid_invoices_credit_note_pays_back(paid_order):
    """Confirm refunds 19.00 USD on the card and the credit note of the paid invoice pays
    back the 3.61 USD of VAT it charged on the order: the page said 19.00 USD only."""
    invoice = _invoiced([paid_order], paid=True)
    assert invoice.tax == 361
    client, _ = admin_client("finance")

    page = refund_confirmation(client, paid_order.pk)
    notes, totals = _said(page)
    assert notes == {
        paid_order.pk: f"3.61 USD paid back by bank transfer (credit note of {invoice.number})"
    }
    assert totals == ["22.61 USD"]
    assert not Invoice.objects.filter(credit_of=invoice).exists()  # asked only
    confirm_refund(client, page)

    note = Invoice.objects.get(credit_of=invoice)
    assert (note.total, note.refund_amount, note.applied_amount) == (-2261, 361, 0)
    assert paid_order.amount + note.refund_amount == 2261


def test_the_page_says_the_vat_an_unpaid_invoices_credit_note_takes_off(paid_order):
    invoice = _invoiced([paid_order], paid=False)
    assert invoice.amount_due == 361
    client, _ = admin_client("finance")

    page = refund_confirmation(client, paid_order.pk)
    notes, totals = _said(page)
    assert notes == {paid_order.pk: f"3.61 USD taken off what invoice {invoice.number} asks"}
    assert totals == ["19.00 USD, and 3.61 USD taken off what unpaid invoices ask"]
    confirm_refund(client, page)

    note = Invoice.objects.get(credit_of=invoice)
    assert (note.refund_amount, note.applied_amount) == (0, 361)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("paid", 0)


def test_the_page_gives_the_vat_of_orders_of_one_invoice_as_their_notes_do(
    stripe_on, customer, agent, make_plan
):
    """Two orders of 10.03 USD: the invoice's VAT is 3.81 USD (19 % of 20.06), each order's
    3.82 rounded alone (1.91 + 1.91); the second note pays back what the first left, 1.90,
    and the page says what the notes will, one after the other."""
    plan = make_plan("one_time", currency="USD", amount=1003)
    orders = _paid_orders(customer, agent, plan, 2)
    invoice = _invoiced(orders, paid=True)
    assert invoice.tax == 381
    client, _ = admin_client("finance")

    page = refund_confirmation(client, *[order.pk for order in orders])
    notes, totals = _said(page)
    assert [notes[order.pk].split(" USD")[0] for order in orders] == ["1.91", "1.90"]
    assert totals == ["23.87 USD"]
    confirm_refund(client, page)

    paid_back = [note.refund_amount for note in Invoice.objects.filter(credit_of=invoice)]
    assert sorted(paid_back) == [190, 191]
    assert sum(order.amount for order in orders) + sum(paid_back) == 2387


def test_an_order_not_invoiced_yet_has_no_credit_note_to_give_back(paid_order):
    client, _ = admin_client("finance")
    notes, totals = _said(refund_confirmation(client, paid_order.pk))
    assert notes == {paid_order.pk: "none"}
    assert totals == ["19.00 USD"]
