"""The raw usage table loses its single-column indexes on tenant, agent and version. No query
reads raw rows by them (ingest reads by device, rating reads the hourly rollup); each was one
more index entry to write per ingested row. The references stay checked by the database (the
composite foreign keys of 0009). The price: deleting a tenant (Django's cascade) or checking an
agent's or version's PROTECT scans the raw table (docs/metering.md)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0009_usage_event_composite_keys"),
        ("marketplace", "0008_keys_for_usage_events"),
        ("tenancy", "0002_staff_groups"),
    ]

    operations = [
        migrations.AlterField(
            model_name="usageevent",
            name="agent",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="marketplace.agent",
            ),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="tenant",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tenancy.tenant",
            ),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="version",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="marketplace.agentversion",
            ),
        ),
    ]
