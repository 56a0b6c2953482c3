"""Migrating billing back before invoices had a prepaid amount (0005_invoice_prepaid_amount):
forward again would add it as 0 to every invoice, so a finalized invoice holding one stops the
way back, named, nothing changed (else it would ask its whole total, the part paid before it
charged again); without one, billing goes back and forward again with every invoice as it was,
a draft's prepaid amount computed again from its lines when it is finalized."""

from datetime import datetime, timedelta

import pytest
from django.db import IntegrityError
from django.db.models import F
from django.utils import timezone

from billing import invoicing
from billing.models import Invoice
from tests.invoicing.conftest import APR, FEB, JAN, MAR
from tests.migrations import (
    column_names,
    migrated_back,
    migrating_billing_back_to,
    refusal_going_back,
)

pytestmark = migrating_billing_back_to("0004")

BEFORE_PREPAID = "0004_invoice_immutability_triggers"


def drafted(customer, month: datetime, *, one_time: int = 0) -> Invoice:
    """The month's draft: three agent-hours, and a one-time order paid when it was placed."""
    customer.ran(customer.plan, month, 3)
    if one_time:
        customer.one_time(amount=one_time, at=month + timedelta(days=3))
    (pk,) = invoicing.close_billing_period(month).created
    return Invoice.objects.get(pk=pk)


def issued(customer, month: datetime, *, one_time: int = 0) -> Invoice:
    """The month's invoice, finalized a day ago and emailed (billing 0013 lets it by)."""
    draft = drafted(customer, month, one_time=one_time)
    invoice = invoicing.finalize_invoice(draft, now=timezone.now() - timedelta(days=1))
    Invoice.objects.filter(pk=invoice.pk).update(emailed_at=F("finalized_at"))
    return invoice


def amounts() -> dict[int, tuple]:
    return {
        invoice.pk: (invoice.status, invoice.total, invoice.prepaid_amount, invoice.amount_due)
        for invoice in Invoice.objects.all()
    }


def test_a_finalized_invoice_s_prepaid_amount_stops_the_way_back_named_and_is_kept(billed):
    """Forward again, the old 0005 set it to 0: each invoice asked its whole total, and the
    first charge or dunning would have collected the prepaid part a second time."""
    jan = issued(billed, JAN, one_time=5000)
    feb = issued(billed, FEB, one_time=2000)
    mar = issued(billed, MAR)  # nothing prepaid
    drafted(billed, APR, one_time=700)  # a draft's is computed again when it is finalized
    before = amounts()

    refusal = refusal_going_back("billing", BEFORE_PREPAID)

    assert amounts() == before
    assert Invoice.objects.get(pk=jan.pk).amount_due == jan.total - 5000 > 0
    assert refusal is not None, "billing went back before 0005 and forward again"
    assert "2 finalized invoice(s) hold one: " in refusal
    assert f"{jan.number} (open, 5000 of its {jan.total} EUR minor units prepaid)" in refusal
    assert f"{feb.number} (open, 2000 of its {feb.total} EUR minor units prepaid)" in refusal
    assert mar.number not in refusal
    assert "would ask its whole total" in refusal


def test_without_prepaid_amounts_billing_goes_back_before_them_and_forward_again(billed):
    jan = issued(billed, JAN)
    feb = drafted(billed, FEB, one_time=5000)
    assert feb.prepaid_amount == 5000
    before = amounts()

    with migrated_back("billing", BEFORE_PREPAID):
        columns_at_0004 = column_names("billing_invoice")

    assert "prepaid_amount" not in columns_at_0004
    # Forward again, the draft's prepaid amount is 0 until it is finalized, from its lines.
    status, total, _, _ = before.pop(feb.pk)
    after = amounts()
    assert after.pop(feb.pk) == (status, total, 0, total)
    assert after == before
    feb = invoicing.finalize_invoice(Invoice.objects.get(pk=feb.pk))
    assert (feb.prepaid_amount, feb.amount_due) == (5000, feb.total - 5000)
    assert Invoice.objects.get(pk=jan.pk).emailed_at is not None
    with pytest.raises(IntegrityError, match="is finalized and cannot be changed"):
        Invoice.objects.filter(pk=feb.pk).update(prepaid_amount=0)  # the trigger knows it again
