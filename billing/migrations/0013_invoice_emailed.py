"""Whether a finalized invoice's email went out (``emailed_at``) or why not
(``email_failure_code``/``_detail``): lifecycle columns, not frozen by the trigger, so the
email task sends it once and the beat job sends one whose task was lost. A partial index
serves that job's look for finalized invoices not emailed.

Invoices finalized more than six hours before this migration are taken as emailed when they
were finalized: nothing recorded whether their email went out, and sending a tenant's whole
history again would be worse than missing one lost before. Those of the last six hours (the
email task retries for about five) are left to the task still retrying them, or to the beat
job: marked, a task still retrying would find it "already emailed" and never send it.

The two text columns have a database default, so the previous release's inserts (which do not
name them) keep working while both run during a rollout."""

from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone


def _emailed_when_finalized(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    Invoice.objects.filter(finalized_at__lt=timezone.now() - timedelta(hours=6)).update(
        emailed_at=models.F("finalized_at")
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0012_usage_event_key_is_device_seq_start")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="email_failure_code",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="why its email was not sent (yet)",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="email_failure_detail",
            field=models.CharField(blank=True, db_default="", default="", max_length=500),
        ),
        migrations.AddField(
            model_name="invoice",
            name="emailed_at",
            field=models.DateTimeField(
                blank=True, help_text="when its email (with the PDF) went out", null=True
            ),
        ),
        migrations.RunPython(_emailed_when_finalized, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(("emailed_at__isnull", True), ("finalized_at__isnull", False)),
                fields=["finalized_at"],
                name="billing_invoice_not_emailed",
            ),
        ),
    ]
