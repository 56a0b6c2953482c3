"""What a credit note of an unpaid invoice took off what that invoice asks
(``applied_amount``, frozen on issue like every other amount, so the PostgreSQL trigger
function learns the column): its PDF and email say it. It has a database default, so the
previous release's inserts keep working during a rollout; a check constraint keeps it on
credit notes, never negative.

Credit notes issued before it are given their share of their invoice's ``credited_amount``
(which they made up): in the order they were issued, those that give no money back each
take what they credit, tax included, but the credited lines paid before the invoice, while
some is left, and the last of them that took something also takes what is left (the VAT
rounding the note crediting the invoice's last line took). So the notes of an invoice add up
to what its credited amount says.

Going back drops the column; forward again fills it in as above, so nothing stops the way
back."""

import importlib

from django.db import migrations, models
from django.db.models import Sum

_prepaid = importlib.import_module("billing.migrations.0005_invoice_prepaid_amount")
_refund = importlib.import_module("billing.migrations.0016_credit_note_refund")
COLUMNS = [*_refund.COLUMNS, "applied_amount"]


def _taken_off_before(apps, schema_editor):
    """Each credit note's share of its invoice's ``credited_amount``; run before the trigger
    learns the column (the notes are finalized)."""
    Invoice = apps.get_model("billing", "Invoice")
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    for invoice in Invoice.objects.filter(kind="invoice", credited_amount__gt=0).iterator():
        notes = (
            Invoice.objects.filter(credit_of=invoice, kind="credit_note", refund_amount=0)
            .exclude(status="void")
            .order_by("finalized_at", "pk")
        )
        left, taken = invoice.credited_amount, {}
        for note in notes:
            paid_before = -(
                InvoiceLine.objects.filter(invoice=note, credited_line__is_paid=True).aggregate(
                    total=Sum("amount")
                )["total"]
                or 0
            )
            took = max(0, min(-note.total - paid_before, left))
            if took:
                taken[note.pk] = took
                left -= took
        if taken:
            taken[list(taken)[-1]] += left
        for pk, took in taken.items():
            Invoice.objects.filter(pk=pk).update(applied_amount=took)


class Migration(migrations.Migration):
    dependencies = [("billing", "0019_new_card_charge")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="applied_amount",
            field=models.BigIntegerField(
                db_default=0,
                default=0,
                help_text="credit notes of an unpaid invoice: what it took off its amount due",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(applied_amount=0)
                | models.Q(kind="credit_note", applied_amount__gt=0),
                name="applied_amount_of_credit_notes",
            ),
        ),
        # Before the trigger learns the column: the notes it fills in are finalized.
        migrations.RunPython(_taken_off_before, migrations.RunPython.noop),
        migrations.RunPython(
            _prepaid._on_postgresql(COLUMNS), _prepaid._on_postgresql(_refund.COLUMNS)
        ),
    ]
