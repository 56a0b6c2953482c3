"""Finance refunds an overpaid invoice's excess from *Money to give back* in Chromium: ticks
the row, chooses *Refund in Stripe*, reads what will be refunded on which PaymentIntent,
confirms, and finds the row settled by the Stripe refund, the list's filter kept. Before,
finance refunded in Stripe's dashboard and typed the refund's id back (*Record settled*)."""

import pytest
from rest_framework.test import APIClient
from time_machine import escape_hatch

from billing.models import SETTLED, MoneyToGiveBack
from edgeplug.audit.models import AuditEvent
from tests.commerce.conftest import localstripe, stripe_client, stripe_on  # noqa: F401
from tests.dunning.conftest import (  # noqa: F401  (the fixtures)
    NEEDS_3DS,
    clock,
    committed,
    credit_fee,
    finalize,
    invoiced,
    payer,
)
from tests.dunning.test_credited_invoice_is_settled import FEE_CREDIT
from tests.dunning.test_invoice_payment_webhooks import authenticate, deliver, intent_event
from tests.invoicing.conftest import vendor_tenant  # noqa: F401

pytestmark = pytest.mark.browser

OVERPAID = "/admin/billing/moneytogiveback/?action__exact=invoice_overpaid"


@pytest.fixture
def overpaid(invoiced, admin_session, committed, clock):  # noqa: F811
    """A charge awaited 3-D Secure while finance credited the invoice's fee (10.00 + VAT); the
    card holder then passed it: the intent took 11.90 EUR more than the invoice asks. The
    clock then runs on from now, for the browser's cookies."""
    _, invoice = invoiced(card=NEEDS_3DS)
    finance, _ = admin_session("finance")
    credit_fee(finance, invoice)
    intent = invoice.payment_intent_id
    authenticate(intent)
    deliver(APIClient(), committed, intent_event("evt_3ds_ok", "payment_intent.succeeded", intent))
    clock.move_to(escape_hatch.datetime.datetime.now())
    return invoice


def test_finance_refunds_an_overpaid_invoice_in_stripe_from_the_list(journey, staff_user, overpaid):
    invoice, intent = overpaid, overpaid.payment_intent_id
    finance = staff_user("finance")
    journey.sign_in(finance)
    page = journey.page
    journey.goto(OVERPAID)
    (row,) = page.locator("#result_list tbody tr").all()
    assert row.locator("td.field-settled").inner_text() == "-"

    row.locator('input[name="_selected_action"]').check()
    page.locator('select[name="action"]').select_option(label="Refund in Stripe")
    journey.click(page.get_by_role("button", name="Go"))

    assert page.locator("#content h1").inner_text() == "Refund in Stripe"
    (asked,) = page.locator("#refund-rows tbody tr").all()
    assert asked.locator("td").all_inner_texts() == [
        "invoice overpaid",
        str(invoice.tenant),
        f"invoice {invoice.number}",
        "11.90 EUR",
        intent,
        "yes",
    ]
    assert stripe_client().v1.refunds.list(params={"payment_intent": intent}).data == []
    journey.click(page.get_by_role("button", name="Confirm: refund 1 in Stripe"))

    (refund,) = stripe_client().v1.refunds.list(params={"payment_intent": intent}).data
    assert refund.amount == FEE_CREDIT
    assert page.url == journey.base_url + OVERPAID  # the list, its filter kept
    assert page.locator(".messagelist .success").all_inner_texts() == [
        f"Invoice {invoice.number} (invoice overpaid): 11.90 EUR refunded in Stripe "
        f"({refund.id}), settled."
    ]
    assert page.locator("#result_list tbody tr td.field-settled").inner_text() == refund.id
    (settled,) = AuditEvent.objects.filter(action=SETTLED)
    assert (settled.details["source"], settled.actor) == ("refunded_in_stripe", finance)
    assert MoneyToGiveBack.objects.with_settlement().get().settled_by == refund.id
