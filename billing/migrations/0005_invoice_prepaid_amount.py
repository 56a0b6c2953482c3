"""The part of an invoice's total already paid (one-time orders less refunds); frozen on
finalize like every other amount, so the PostgreSQL trigger function learns the column.

Going back drops the column, and forward again would add it as 0 to every invoice: a finalized
one, frozen, would then ask its whole total, the part paid before it charged a second time. A
draft's is computed again from its lines when it is finalized. So while a finalized invoice
holds a prepaid amount the way back stops here, before the trigger or the column changes, and
names those invoices (IrreversibleError)."""

import importlib

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

from edgeplug.migration_refusals import named_rows

_triggers = importlib.import_module("billing.migrations.0004_invoice_immutability_triggers")
COLUMNS = [*_triggers.FROZEN_INVOICE_COLUMNS, "prepaid_amount"]


def _on_postgresql(columns):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_triggers.invoice_function(columns), None)

    return run


def _reject_prepaid_amounts(apps, schema_editor):
    """Backwards only: refuse while a finalized invoice holds a prepaid amount."""
    Invoice = apps.get_model("billing", "Invoice")
    prepaid = (
        Invoice.objects.filter(finalized_at__isnull=False)
        .exclude(prepaid_amount=0)
        .order_by("finalized_at", "pk")
    )
    total, listed = named_rows(
        prepaid,
        lambda invoice: f"{invoice.number} ({invoice.status}, {invoice.prepaid_amount} of its "
        f"{invoice.total} {invoice.currency} minor units prepaid)",
    )
    if not total:
        return
    raise IrreversibleError(
        "billing 0005_invoice_prepaid_amount cannot go back: the schema before it has no "
        "prepaid amount (the part of an invoice's total paid before it: one-time orders, less "
        f"refunds), and {total} finalized invoice(s) hold one: {listed} (find "
        "them all with SELECT id, number, status, prepaid_amount FROM billing_invoice WHERE "
        "finalized_at IS NOT NULL AND prepaid_amount <> 0). Migrating forward again would set "
        "it to 0 on these frozen invoices: each would ask its whole total, an unpaid one "
        "charged again for what was paid already, a paid one's documents and exports no "
        "longer showing it. Go back no further than 0005_invoice_prepaid_amount, which keeps "
        "them (manage.py migrate billing 0005_invoice_prepaid_amount): the code from before "
        "0005 cannot read them. No invoice was changed; 0005 stays applied (the billing "
        "migrations after it have gone back already: manage.py migrate billing brings them "
        "forward)."
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_invoice_immutability_triggers")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="prepaid_amount",
            field=models.BigIntegerField(
                default=0,
                help_text="part of the total already paid (one-time orders, less refunds)",
            ),
        ),
        migrations.RunPython(
            _on_postgresql(COLUMNS), _on_postgresql(_triggers.FROZEN_INVOICE_COLUMNS)
        ),
        # Last, so that backwards it runs first: refused before the trigger or column changes.
        migrations.RunPython(migrations.RunPython.noop, _reject_prepaid_amounts),
    ]
