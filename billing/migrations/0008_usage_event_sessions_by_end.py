"""Ingest's read of the stored sessions a batch overlaps goes by their end, not their start:
by start it walked the device's whole retained history on every batch."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_merge_usage_partitions_and_invoices"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="usageevent",
            name="billing_usa_device__30b161_idx",
        ),
        migrations.AddIndex(
            model_name="usageevent",
            index=models.Index(
                fields=["device", "agent", "kind", "ended_at"], name="usage_event_sessions_by_end"
            ),
        ),
    ]
