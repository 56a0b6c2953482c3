"""What is taken off an invoice's amount due so that the card processor can charge it
(``rounding_amount``, 0 or negative, less than one step): Stripe takes three-decimal amounts
(BHD, JOD, KWD, OMR, TND) only as a multiple of 10 minor units, so the amount due in those
currencies is rounded down to one (``billing.charge_minimums.chargeable``). A lifecycle
column, not frozen by the trigger: a credit note of an unpaid invoice rounds its amount due
again. It has a database default, so the previous release's inserts keep working during a
rollout; a check constraint keeps it within one step down.

Invoices unpaid now in those currencies are rounded as finalize rounds them, so the dunning
and a new card ask Stripe for an amount it takes; one whose amount due would round to nothing
(under 10 minor units, far below the card minimum: it is already left to a transfer or a
credit note) keeps 0, so that no open invoice is left owing nothing. Paid, void and
other-currency invoices keep 0. Going back is refused while an invoice holds a rounding
(IrreversibleError, naming them): dropped, a paid one would read as paid its exact amount
while Stripe took the rounded one, and going forward again rounds only unpaid invoices."""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

from edgeplug.migration_refusals import named_rows

THREE_DECIMAL_STEP = {"BHD": 10, "JOD": 10, "KWD": 10, "OMR": 10, "TND": 10}


def _round_unpaid(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    unpaid = Invoice.objects.filter(
        kind="invoice",
        status__in=("open", "payment_failed", "uncollectible"),
        currency__in=list(THREE_DECIMAL_STEP),
    )
    for invoice in unpaid.iterator():
        exact = invoice.total - invoice.prepaid_amount - invoice.credited_amount
        rounding = -(exact % THREE_DECIMAL_STEP[invoice.currency])
        if rounding and exact + rounding > 0:
            Invoice.objects.filter(pk=invoice.pk).update(rounding_amount=rounding)


def _reject_roundings(apps, schema_editor):
    """Backwards only: refuse while an invoice holds a rounding."""
    Invoice = apps.get_model("billing", "Invoice")
    rounded = Invoice.objects.exclude(rounding_amount=0).order_by("finalized_at", "pk")
    total, listed = named_rows(
        rounded,
        lambda invoice: f"{invoice.number} ({invoice.status}, {invoice.rounding_amount} "
        f"{invoice.currency} minor units)",
    )
    if not total:
        return
    raise IrreversibleError(
        "billing 0015_invoice_rounding_amount cannot go back: the schema before it has no "
        "rounding of the amount due, and "
        f"{total} invoice(s) hold one: {listed} (find them all with SELECT "
        "id, number, status, rounding_amount FROM billing_invoice WHERE rounding_amount <> 0). "
        "Without it a paid one reads as paid its exact amount while the card processor took "
        "the rounded one, and going forward again rounds only unpaid invoices. No invoice was "
        "changed; 0015 stays applied."
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0014_invoice_credited_amount"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="rounding_amount",
            field=models.BigIntegerField(
                db_default=0,
                default=0,
                help_text="taken off the amount due so that the card processor can charge it "
                "(three-decimal currencies: a multiple of 10 minor units); 0 or negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(rounding_amount__lte=0, rounding_amount__gt=-10),
                name="invoice_rounding_is_less_than_one_step_down",
            ),
        ),
        migrations.RunPython(_round_unpaid, migrations.RunPython.noop),
        # Last, so that backwards it runs first: refused before the column is dropped.
        migrations.RunPython(migrations.RunPython.noop, _reject_roundings),
    ]
