"""When a tenant cancelled its metered plan (``marketplace.cancellation``); none so far."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0023_failed_refund_counted_back"),
    ]

    operations = [
        migrations.AddField(
            model_name="entitlement",
            name="cancelled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
