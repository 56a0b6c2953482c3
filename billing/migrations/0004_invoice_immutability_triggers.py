"""On PostgreSQL, a finalized invoice and its lines are refused by triggers too, so a
queryset ``update()``, raw SQL or another client cannot change what was issued. Only the
lifecycle columns (models.INVOICE_LIFECYCLE_FIELDS) may still move. Other databases rely on
the model guards alone."""

from django.db import migrations

FROZEN_INVOICE_COLUMNS = [
    "tenant_id",
    "kind",
    "number",
    "credit_of_id",
    "currency",
    "period_start",
    "period_end",
    "account_snapshot",
    "tax_rate",
    "reverse_charge",
    "subtotal",
    "tax",
    "total",
    "rollup_digest",
    "finalize_after",
    "finalized_at",
    "created_at",
]



def invoice_function(columns: list[str]) -> str:
    """The invoice trigger function; a later migration that adds a frozen column calls this
    again with the longer list."""
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
    return f"""
CREATE OR REPLACE FUNCTION billing_invoice_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.finalized_at IS NULL THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoice % is finalized and cannot be deleted', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF {changed} THEN
        RAISE EXCEPTION 'invoice % is finalized and cannot be changed', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


# The line trigger's function as written here; 0027 replaces it, and restores it going back.
LINE_FUNCTION = """
CREATE OR REPLACE FUNCTION billing_invoiceline_frozen() RETURNS trigger AS $$
DECLARE
    finalized timestamptz;
    inv bigint;
BEGIN
    FOR inv IN SELECT DISTINCT x FROM unnest(ARRAY[
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.invoice_id END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.invoice_id END]) AS x WHERE x IS NOT NULL
    LOOP
        SELECT finalized_at INTO finalized FROM billing_invoice WHERE id = inv;
        IF finalized IS NOT NULL THEN
            RAISE EXCEPTION 'the lines of finalized invoice % cannot change', inv
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END LOOP;
    RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;
"""

CREATE = (
    invoice_function(FROZEN_INVOICE_COLUMNS)
    + """
CREATE TRIGGER billing_invoice_frozen
    BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_frozen();
"""
    + LINE_FUNCTION
    + """
CREATE TRIGGER billing_invoiceline_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_invoiceline_frozen();
"""
)

DROP = """
DROP TRIGGER IF EXISTS billing_invoiceline_frozen ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoiceline_frozen();
DROP TRIGGER IF EXISTS billing_invoice_frozen ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_frozen();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_invoices")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
