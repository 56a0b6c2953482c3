"""Finalize refuses, at every door (the action finance's admin and API call, the beat job's
batch), what the invoice document would refuse afterwards, so no invoice is numbered whose
PDF, email or export then fails: a draft below zero (an adjustment stored before such an
adjustment was refused), a billing account stored before one of the document's rules. The
draft stays a draft, takes no number, and the batch finalizes the others."""

from datetime import timedelta

import pytest

from billing import invoicing
from billing.errors import BillingAccountNotIssuable, InvoiceNegativeTotal, PeriodNotEnded
from billing.models import (
    BillingAccount,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceStatus,
    LineKind,
)
from tests.invoicing.conftest import FEB, JAN

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"


@pytest.fixture
def below_zero(draft):
    """January's draft, taken below zero by an adjustment stored before such an adjustment
    was refused (``add_adjustment_line`` refuses it now: an older row)."""
    amount = -(draft.subtotal + 1)
    InvoiceLine.objects.create(
        invoice=draft,
        position=draft.lines.count(),
        kind=LineKind.ADJUSTMENT,
        description="Goodwill",
        quantity=1,
        unit_amount=amount,
        amount=amount,
        period_start=draft.period_start,
        period_end=draft.period_end,
    )
    return draft


@pytest.fixture
def closed_early(customer, time_machine):
    """January's draft, closed early (forced) on the 16th, with an order paid on the 4th; the
    clock stays on the 16th."""
    customer.account()
    customer.one_time(amount=2000, at=JAN + timedelta(days=3))
    time_machine.move_to(JAN + timedelta(days=15), tick=False)
    invoicing.close_period_now(JAN, force=True)
    return customer.tenant.invoices.get()


def _still_a_draft(draft):
    draft.refresh_from_db()
    assert (draft.status, draft.number) == (InvoiceStatus.DRAFT, None)
    assert not InvoiceNumberSequence.objects.filter(series="EP", last__gt=0).exists()


def test_finalize_refuses_a_draft_below_zero(below_zero):
    with pytest.raises(InvoiceNegativeTotal) as refused:
        invoicing.finalize_invoice(below_zero)
    assert refused.value.code == "negative_total" and refused.value.status == 409
    assert "credit note" in refused.value.detail
    _still_a_draft(below_zero)


def test_the_beat_finalize_reports_a_draft_below_zero_and_goes_on(below_zero, make_customer):
    other = make_customer()
    other.account()
    other.ran(other.metered(), JAN, 1)
    invoicing.close_billing_period(JAN)

    run = invoicing.finalize_due_invoices(now=FEB + timedelta(days=4))

    assert run.refused == {below_zero.pk: "negative_total"}
    assert len(run.finalized) == 1  # the other tenant's, numbered 1: no number was skipped
    assert run.finalized[0].endswith("000001")
    below_zero.refresh_from_db()
    assert below_zero.status == InvoiceStatus.DRAFT


def test_finance_is_told_in_the_admin(admin_session, below_zero):
    client, _ = admin_session("finance")
    page = client.post(f"{URL}{below_zero.pk}/finalize/", follow=True)
    assert b"below zero" in page.content
    _still_a_draft(below_zero)


@pytest.mark.parametrize(
    "stored, says",
    [
        ({"tax_rate": "100.00"}, "tax rate must be a percentage from 0 to under 100"),
        ({"reverse_charge": True, "tax_id": ""}, "Reverse charge needs the buyer's VAT number"),
        ({"legal_name": "Acme\x02 GmbH"}, "legal_name: "),
        ({"invoice_emails": ['"ap\x01"@acme.example']}, "invoice_emails: "),
    ],
)
def test_an_account_stored_before_a_rule_is_refused_until_corrected(customer, draft, stored, says):
    BillingAccount.objects.filter(tenant=customer.tenant).update(**stored)  # an older row

    with pytest.raises(BillingAccountNotIssuable) as refused:
        invoicing.finalize_invoice(draft)
    assert refused.value.code == "billing_account_invalid" and says in refused.value.detail
    run = invoicing.finalize_due_invoices(now=FEB + timedelta(days=4))
    assert run.refused == {draft.pk: "billing_account_invalid"}
    _still_a_draft(draft)

    BillingAccount.objects.filter(tenant=customer.tenant).update(
        tax_rate="19.00",
        reverse_charge=False,
        legal_name="Acme Pumps GmbH",
        invoice_emails=["ap@acme.example"],
    )
    assert invoicing.finalize_invoice(draft).number.endswith("000001")


def test_a_month_not_ended_is_not_finalized_so_what_it_still_sells_is_billed(
    customer, closed_early, admin_session, time_machine
):
    """A month closed early (forced) stays a draft until it has ended: finalized on the 15th,
    an order paid on the 21st was billed nowhere (a finalized month is never drafted again,
    and the next close takes only its own month's orders)."""
    draft = closed_early
    client, _ = admin_session("finance")

    with pytest.raises(PeriodNotEnded) as refused:
        invoicing.finalize_invoice(draft)
    page = client.post(f"{URL}{draft.pk}/finalize/", follow=True)

    assert refused.value.code == "period_not_ended" and refused.value.status == 409
    assert b"has not ended" in page.content
    _still_a_draft(draft)
    assert invoicing.finalize_invoices([draft.pk]).refused == {draft.pk: "period_not_ended"}
    customer.one_time(amount=3000, at=JAN + timedelta(days=21))  # sold later that month
    time_machine.move_to(FEB + timedelta(hours=2), tick=False)
    invoicing.close_billing_period(JAN)
    invoice = invoicing.finalize_invoice(draft)  # now it may, with the month's every sale
    assert sorted(invoice.lines.values_list("amount", flat=True)) == [2000, 3000]


def test_a_draft_of_a_running_month_says_when_it_can_be_finalized(
    closed_early, admin_session, time_machine
):
    """Its page offered "Finalize now", every click of which was refused: it says from when
    instead, and offers the button once the month has ended and been closed again (by the
    hourly close: what the month sold after the early close is drafted first)."""
    draft = closed_early
    client, _ = admin_session("finance")

    page = client.get(f"{URL}{draft.pk}/change/").content.decode()

    assert 'id="finalize-form"' not in page
    assert (
        f'<p class="errornote" id="finalize-refusal">Draft {draft.pk} is for 2026-01, which has '
        "not ended: it can be finalized from 2026-02-01 00:00 UTC.</p>"
    ) in page
    assert 'id="adjust-form"' in page  # a draft still takes adjustments
    time_machine.move_to(FEB, tick=False)
    client, _ = admin_session("finance")  # the first session has long expired
    page = client.get(f"{URL}{draft.pk}/change/").content.decode()
    assert 'id="finalize-form"' not in page
    assert "which has not been closed since it ended" in page
    invoicing.close_ended_months()
    page = client.get(f"{URL}{draft.pk}/change/").content.decode()
    assert 'id="finalize-form"' in page and 'id="finalize-refusal"' not in page
