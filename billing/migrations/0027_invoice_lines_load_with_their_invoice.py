"""A finalized invoice's lines may be inserted while ``manage.py loaddata`` loads data, and
never otherwise: loaddata (moving from SQLite to PostgreSQL, docs/operations.md) inserts each
invoice, finalized, before its lines, which the trigger of 0004 refused. The project's
loaddata (billing/management/commands/loaddata.py) marks its transaction with the
transaction-local setting ``edgeplug.loading_data``; any other insert, update or delete of a
finalized invoice's lines is still refused. Other databases rely on the model guards.

(A first version allowed inserts in the transaction that last wrote the invoice row, by its
xmin: any update of a finalized invoice's lifecycle columns, an email stamp or a credit,
re-opened its lines for the rest of that transaction.)"""

import importlib

from django.db import migrations

_triggers = importlib.import_module("billing.migrations.0004_invoice_immutability_triggers")

LOADING = "edgeplug.loading_data"
_BEGIN = "BEGIN\n    FOR inv IN"
assert _BEGIN in _triggers.LINE_FUNCTION
FORWARD = _triggers.LINE_FUNCTION.replace(
    _BEGIN,
    f"BEGIN\n    IF TG_OP = 'INSERT' AND current_setting('{LOADING}', true) = 'on' THEN\n"
    "        RETURN NEW;\n    END IF;\n    FOR inv IN",
)
BACKWARD = _triggers.LINE_FUNCTION


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0026_revenue_month_indexes")]

    operations = [migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD))]
