"""Finance refunds an overpaid invoice's excess from *Money to give back* in Chromium: ticks
the row, chooses *Refund in Stripe*, reads what will be refunded on which PaymentIntent,
confirms, and finds the row settled by the Stripe refund, the list's filter kept. Before,
finance refunded in Stripe's dashboard and typed the refund's id back (*Record settled*)."""

import pytest
from time_machine import escape_hatch

from billing.models import SETTLED, MoneyToGiveBack
from edgeplug.audit.models import AuditEvent
from tests.commerce.conftest import localstripe, stripe_client, stripe_on  # noqa: F401
from tests.dunning.conftest import clock, committed, finalize, invoiced, payer  # noqa: F401
from tests.dunning.test_credited_invoice_is_settled import FEE_CREDIT
from tests.dunning.test_money_to_give_back_refunded_in_stripe import overpay
from tests.invoicing.conftest import vendor_tenant  # noqa: F401

pytestmark = pytest.mark.browser

OVERPAID = "/admin/billing/moneytogiveback/?action__exact=invoice_overpaid"


@pytest.fixture
def overpaid(invoiced, admin_session, committed, clock):  # noqa: F811
    """An invoice overpaid by 11.90 EUR (the fee credited, 10.00 + VAT, while its charge
    awaited 3-D Secure). The clock then runs on from now, for the browser's cookies."""
    finance, _ = admin_session("finance")
    invoice = overpay(invoiced, finance, committed)
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
