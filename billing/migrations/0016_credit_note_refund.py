"""What a credit note of a paid invoice gives back in money (``refund_amount``, frozen on
issue like every other amount, so the PostgreSQL trigger function learns the column), and
when and how it went back, or why Stripe refused its card refund (``refunded_at``,
``refund_reference``, ``refunded_by``, ``refund_failure``: lifecycle columns, not frozen). All have database defaults, so the previous release's inserts keep
working during a rollout; a check constraint keeps the amount on credit notes, never
negative.

Credit notes issued before it to invoices already paid were money owed back, settled by
finance by hand: each gets the amount it gave back, recorded as paid back "before billing
0016: settled outside EdgePlug", so a later note never pays that money back again.

Going back drops them, and forward again would add every credit note as owing nothing: one
still owing (its card refund failing, its transfer not sent) would never be paid back. So
while a credit note owes money back the way back stops here, before the trigger or the
columns change, and names those notes (IrreversibleError). A note paid back already lets it
by: its money went back, the audit event ``credit_note_refunded`` keeps the amount and the
reference, and forward again fills it in as above (the same amount, paid back), so no later
note gives it back a second time.
"""

import importlib

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

from edgeplug.migration_refusals import named_rows

_triggers = importlib.import_module("billing.migrations.0004_invoice_immutability_triggers")
_prepaid = importlib.import_module("billing.migrations.0005_invoice_prepaid_amount")
COLUMNS = [*_prepaid.COLUMNS, "refund_amount"]


BEFORE = "before billing 0016: settled outside EdgePlug"


def _owed_before(apps, schema_editor):
    """The credit notes issued before this migration to invoices already paid were money owed
    back, which finance settled by hand (docs/billing.md said so): each gets the
    ``refund_amount`` ``money_back.owed`` would have given it, recorded as paid back
    (``BEFORE``), so that a note issued later never gives that money back again. Run before
    the trigger learns the column (the notes are finalized)."""
    Invoice = apps.get_model("billing", "Invoice")
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    notes = (
        Invoice.objects.filter(
            kind="credit_note",
            refund_amount=0,
            credit_of__status="paid",
            credit_of__paid_at__lte=models.F("finalized_at"),
        )
        .select_related("credit_of")
        .order_by("credit_of_id", "finalized_at", "pk")
    )
    given: dict[int, int] = {}
    for note in notes:
        invoice = note.credit_of
        paid_before = sum(
            -line.amount
            for line in InvoiceLine.objects.filter(invoice=note, credited_line__is_paid=True)
        )
        took = (
            invoice.total
            - invoice.prepaid_amount
            - invoice.credited_amount
            + invoice.rounding_amount
        )
        before = given.get(invoice.pk, 0)
        owed = max(0, min(-note.total - paid_before, took - before))
        if owed:
            given[invoice.pk] = before + owed
            Invoice.objects.filter(pk=note.pk).update(
                refund_amount=owed, refunded_at=note.finalized_at, refund_reference=BEFORE
            )


def _reject_money_owed_back(apps, schema_editor):
    """Backwards only: refuse while a credit note owes money back."""
    Invoice = apps.get_model("billing", "Invoice")
    owing = Invoice.objects.filter(refund_amount__gt=0, refunded_at__isnull=True)
    total, listed = named_rows(
        owing.order_by("finalized_at", "pk"),
        lambda note: f"{note.number} ({note.refund_amount} {note.currency} minor units owed)",
    )
    if not total:
        return
    raise IrreversibleError(
        "billing 0016_credit_note_refund cannot go back: the schema before it does not record "
        f"what a credit note of a paid invoice gives back in money, and {total} credit note(s) "
        f"still owe it: {listed} (find them all with SELECT id, number, refund_amount FROM "
        "billing_invoice WHERE refund_amount > 0 AND refunded_at IS NULL). Migrating forward "
        "again would take each as owing nothing, and the money would never go back. Pay them "
        "back first (a card refund: the beat job retry-credit-note-refunds; a transfer: "
        "finance records it in the admin), or go back no further than 0016_credit_note_refund "
        "(manage.py migrate billing 0016_credit_note_refund). No invoice was changed; 0016 "
        "stays applied."
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0015_invoice_rounding_amount")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="refund_amount",
            field=models.BigIntegerField(
                db_default=0,
                default=0,
                help_text="credit notes of a paid invoice: the money given back (minor units)",
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="refund_reference",
            field=models.CharField(blank=True, db_default="", default="", max_length=255),
        ),
        migrations.AddField(
            model_name="invoice",
            name="refund_failure",
            field=models.CharField(blank=True, db_default="", default="", max_length=500),
        ),
        migrations.AddField(
            model_name="invoice",
            name="refunded_by",
            field=models.CharField(
                blank=True,
                choices=[("card", "Card"), ("transfer", "Transfer")],
                db_default="",
                default="",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="refunded_at",
            field=models.DateTimeField(
                blank=True, help_text="when that money went back", null=True
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(refund_amount=0)
                | models.Q(kind="credit_note", refund_amount__gt=0),
                name="refund_amount_of_credit_notes",
            ),
        ),
        # Before the trigger learns the column: the notes it fills in are finalized.
        migrations.RunPython(_owed_before, migrations.RunPython.noop),
        migrations.RunPython(
            _prepaid._on_postgresql(COLUMNS), _prepaid._on_postgresql(_prepaid.COLUMNS)
        ),
        # Last, so that backwards it runs first: refused before the trigger or columns change.
        migrations.RunPython(migrations.RunPython.noop, _reject_money_owed_back),
    ]
