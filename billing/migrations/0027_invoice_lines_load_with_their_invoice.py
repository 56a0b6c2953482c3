"""A finalized invoice's lines may be inserted in the transaction that wrote the invoice row,
and never after: loaddata (moving from SQLite to PostgreSQL, docs/operations.md) inserts each
invoice, finalized, before its lines, which the trigger of 0004 refused. Any later change to
the lines of a finalized invoice is still refused. Other databases rely on the model guards.

"Wrote in this transaction": the invoice row's xmin is this transaction's id or one of its
subtransactions' (savepoints: loaddata inside an atomic block, the test suite). xmin is 32
bits; it is given this transaction's epoch (subtransaction ids follow their transaction's), and
pg_xact_status says "in progress" only for this transaction's own ids among visible rows (another
transaction's uncommitted row is invisible). An invoice finalized by an UPDATE in this
transaction has such an xmin too: until it commits, the model guards alone keep its lines."""

import importlib

from django.db import migrations

_triggers = importlib.import_module("billing.migrations.0004_invoice_immutability_triggers")

FORWARD = """
CREATE OR REPLACE FUNCTION billing_row_written_here(row_xmin xid) RETURNS boolean AS $$
DECLARE
    top bigint := pg_current_xact_id()::text::bigint;
    candidate bigint := ((top >> 32) << 32) + row_xmin::text::bigint;
BEGIN
    RETURN candidate >= top AND pg_xact_status(candidate::text::xid8) = 'in progress';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_invoiceline_frozen() RETURNS trigger AS $$
DECLARE
    finalized timestamptz;
    written xid;
    inv bigint;
BEGIN
    FOR inv IN SELECT DISTINCT x FROM unnest(ARRAY[
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.invoice_id END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.invoice_id END]) AS x WHERE x IS NOT NULL
    LOOP
        SELECT finalized_at, xmin INTO finalized, written FROM billing_invoice WHERE id = inv;
        IF finalized IS NOT NULL
                AND NOT (TG_OP = 'INSERT' AND billing_row_written_here(written) IS TRUE) THEN
            RAISE EXCEPTION 'the lines of finalized invoice % cannot change', inv
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END LOOP;
    RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;
"""

BACKWARD = _triggers.LINE_FUNCTION + "DROP FUNCTION IF EXISTS billing_row_written_here(xid);"


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0026_revenue_month_indexes")]

    operations = [migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD))]
