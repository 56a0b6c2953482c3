"""Joins the two lines of billing migrations that grew side by side: raw usage partitions
(0003_usage_partitions) and invoices (0003_invoices to 0006_invoice_collection). They touch
different tables, so the order between them does not matter."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_usage_partitions"),
        ("billing", "0006_invoice_collection"),
    ]
    operations = []
