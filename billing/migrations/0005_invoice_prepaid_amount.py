"""The part of an invoice's total already paid (one-time orders less refunds); frozen on
finalize like every other amount, so the PostgreSQL trigger function learns the column."""

import importlib

from django.db import migrations, models

_triggers = importlib.import_module("billing.migrations.0004_invoice_immutability_triggers")
COLUMNS = [*_triggers.FROZEN_INVOICE_COLUMNS, "prepaid_amount"]


def _on_postgresql(columns):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_triggers.invoice_function(columns), None)

    return run


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
    ]
