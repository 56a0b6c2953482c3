"""What credit notes gave back of an unpaid invoice (``credited_amount``): a lifecycle column,
not frozen by the trigger (credit notes come after finalize), so the amount due of an invoice
is its total less its prepaid lines less that, and a charge takes only the rest. It has a
database default, so the previous release's inserts keep working during a rollout.

Invoices unpaid now are given what their credit notes issued before this migration gave back
(all they credit, tax included, but the credited lines paid before the invoice), at most
their amount due: the dunning and a new card then charge only the rest, and nothing for one
credited in full. Their status is left as it is (``docs/billing.md``). Going back drops the
column, but not while an invoice holds a credited amount: the code from before it would charge
an unpaid one what its credit notes gave back, and going forward again would not find what
was credited of the invoices settled since (IrreversibleError, naming them)."""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError
from django.db.models import Sum

from edgeplug.migration_refusals import named_rows


def _credited_before(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    unpaid = Invoice.objects.filter(
        kind="invoice", status__in=("open", "payment_failed", "uncollectible")
    ).filter(credit_notes__isnull=False)
    for invoice in unpaid.distinct():
        notes = Invoice.objects.filter(credit_of=invoice, kind="credit_note").exclude(status="void")
        given_back = -(notes.aggregate(total=Sum("total"))["total"] or 0)
        refunded_prepaid = -(
            InvoiceLine.objects.filter(invoice__in=notes, credited_line__is_paid=True).aggregate(
                total=Sum("amount")
            )["total"]
            or 0
        )
        due = invoice.total - invoice.prepaid_amount
        credited = max(0, min(given_back - refunded_prepaid, due))
        Invoice.objects.filter(pk=invoice.pk).update(credited_amount=credited)


def _reject_credited_amounts(apps, schema_editor):
    """Backwards only: refuse while an invoice holds a credited amount."""
    Invoice = apps.get_model("billing", "Invoice")
    credited = Invoice.objects.exclude(credited_amount=0).order_by("finalized_at", "pk")
    total, listed = named_rows(
        credited,
        lambda invoice: f"{invoice.number} ({invoice.status}, {invoice.credited_amount} of its "
        f"{invoice.total} {invoice.currency} minor units credited)",
    )
    if not total:
        return
    raise IrreversibleError(
        "billing 0014_invoice_credited_amount cannot go back: the schema before it has no "
        "credited amount (what credit notes gave back of an invoice while it was unpaid), and "
        f"{total} invoice(s) hold one: {listed} (find them all with SELECT "
        "id, number, status, credited_amount FROM billing_invoice WHERE credited_amount <> 0). "
        "The code from before 0014 would charge an unpaid one what its credit notes gave back, "
        "and going forward again would not find what was credited of those settled since. No "
        "invoice was changed; 0014 stays applied."
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0013_invoice_emailed"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="credited_amount",
            field=models.BigIntegerField(
                db_default=0,
                default=0,
                help_text="part of what it asked that credit notes gave back while it was unpaid",
            ),
        ),
        migrations.RunPython(_credited_before, migrations.RunPython.noop),
        # Last, so that backwards it runs first: refused before the column is dropped.
        migrations.RunPython(migrations.RunPython.noop, _reject_credited_amounts),
    ]
