"""Indexes for a month's revenue and payouts (``billing.models.in_revenue_months``): invoices
by their billing month, credit notes by when they were issued, so a month's statement reads
that month's documents and their lines rather than every line ever issued."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0025_payment_notice_failure"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(fields=["period_start"], name="billing_invoice_period"),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("kind", "credit_note")),
                fields=["finalized_at"],
                name="billing_credit_note_issued",
            ),
        ),
    ]
