"""Migration 0015 adds ``rounding_amount``: the invoices in a three-decimal currency unpaid when
it runs are rounded down to what Stripe can charge, as finalize now rounds them, so the
dunning and a new card stop asking for an amount Stripe refuses; paid ones, credit notes,
other currencies and one that would round to nothing keep 0. Going back is refused while an
invoice holds a rounding."""

from datetime import timedelta

import pytest

from billing.models import Invoice
from tests.factories import TenantFactory
from tests.invoicing.conftest import FEB, JAN
from tests.migrations import column_names, migrated_back, refusal_going_back

pytestmark = pytest.mark.django_db(transaction=True)  # migrating (SQLite) needs no atomic

BEFORE_ROUNDING = "0014_invoice_credited_amount"


def finalized(migrator, number: str, currency: str, total: int, status: str, credited=0) -> int:
    """An invoice row as the release before 0015 wrote it (no rounding)."""
    invoice = migrator.old_model("Invoice").objects.create(
        tenant_id=TenantFactory().pk,
        number=number,
        status=status,
        currency=currency,
        period_start=JAN,
        period_end=FEB,
        subtotal=total,
        total=total,
        credited_amount=credited,
        finalize_after=FEB + timedelta(days=3),
        finalized_at=FEB + timedelta(days=3),
    )
    return invoice.pk


def test_unpaid_dinar_invoices_are_rounded_down_and_the_others_keep_their_amount_due():
    with migrated_back("billing", BEFORE_ROUNDING) as migrator:
        assert "rounding_amount" not in column_names("billing_invoice")
        rows = {
            "open": finalized(migrator, "EP-2026-000001", "KWD", 215, "open"),
            "dunned": finalized(
                migrator, "EP-2026-000002", "BHD", 1409, "payment_failed", credited=1194
            ),
            "paid": finalized(migrator, "EP-2026-000003", "KWD", 215, "paid"),
            "euro": finalized(migrator, "EP-2026-000004", "EUR", 215, "open"),
            "fils": finalized(migrator, "EP-2026-000005", "OMR", 5, "open"),
        }
        migrator.forward("0015_invoice_rounding_amount")
        got = {
            name: Invoice.objects.values_list("rounding_amount", flat=True).get(pk=pk)
            for name, pk in rows.items()
        }
        assert got == {"open": -5, "dunned": -5, "paid": 0, "euro": 0, "fils": 0}
    assert "rounding_amount" in column_names("billing_invoice")
    # Read with today's model once billing is forward again (its later columns exist then).
    assert Invoice.objects.get(pk=rows["dunned"]).amount_due == 210


def test_going_back_is_refused_while_an_invoice_holds_a_rounding_named():
    """Dropped, a rounded invoice paid by card would read as paid its exact amount while Stripe
    took the rounded one, and forward again rounds only the unpaid ones."""
    with migrated_back("billing", BEFORE_ROUNDING) as migrator:
        pk = finalized(migrator, "EP-2026-000001", "KWD", 215, "open")
        migrator.forward("0015_invoice_rounding_amount")
    Invoice.objects.filter(pk=pk).update(status="paid")

    message = refusal_going_back("billing", BEFORE_ROUNDING) or ""

    assert "EP-2026-000001 (paid, -5 KWD minor units)" in message
    assert Invoice.objects.get(pk=pk).rounding_amount == -5
