"""Why an invoice's latest payment notice was not sent (``payment_notice_failure_code``/
``_detail``): lifecycle columns, not frozen by the trigger, written by the notice task when the
mail server refuses a notice or its retries give up. A database default, so the previous
release's inserts (which do not name them) keep working during a rollout; the reverse drops
them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0024_closed_month"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="payment_notice_failure_code",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="why its latest payment notice was not sent",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="payment_notice_failure_detail",
            field=models.CharField(blank=True, db_default="", default="", max_length=500),
        ),
    ]
