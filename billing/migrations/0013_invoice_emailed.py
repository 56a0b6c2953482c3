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
name them) keep working while both run during a rollout.

Going back drops the three columns, and forward again takes every invoice finalized more than
six hours before as emailed: one whose email failed, or has not gone out yet, would never be
sent, its failure forgotten. So while an invoice or credit note finalized and not void has no
``emailed_at``, the way back stops here, before the index or a column goes, and names those
invoices (IrreversibleError). A void one is never emailed anyway. An emailed one comes back
emailed when it was finalized, or, finalized less than six hours before the way forward, is
emailed again by the beat job."""

from datetime import timedelta

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError
from django.utils import timezone

from edgeplug.migration_refusals import named_rows


def _emailed_when_finalized(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    Invoice.objects.filter(finalized_at__lt=timezone.now() - timedelta(hours=6)).update(
        emailed_at=models.F("finalized_at")
    )


def _reject_emails_not_sent(apps, schema_editor):
    """Backwards only: refuse while an issued invoice's email has not gone out (failed, or not
    sent yet)."""
    Invoice = apps.get_model("billing", "Invoice")
    not_emailed = (
        Invoice.objects.filter(finalized_at__isnull=False, emailed_at__isnull=True)
        .exclude(status="void")
        .order_by("finalized_at", "pk")
    )
    total, listed = named_rows(
        not_emailed,
        lambda invoice: f"{invoice.number} ({invoice.email_failure_code or 'not sent yet'})",
    )
    if not total:
        return
    raise IrreversibleError(
        "billing 0013_invoice_emailed cannot go back: the schema before it does not record "
        f"whether an invoice's email went out, and {total} invoice(s) or credit note(s) issued "
        f"and not void have not been emailed: {listed} (find them all with "
        "SELECT id, number, finalized_at, email_failure_code FROM billing_invoice WHERE "
        "finalized_at IS NOT NULL AND status <> 'void' AND emailed_at IS NULL). Migrating "
        "forward again would take each finalized more than six hours before as emailed: its "
        "customer would never get it, and its failure would be forgotten. Have them sent "
        "first: finance resends a failed one once its cause is fixed (the billing account's "
        "invoice emails, the mail server), an email still deferred is retried by its task, "
        "one whose task was lost is queued by the beat job after the grace period (one its "
        "customer received otherwise may have its emailed_at set by hand); then migrate back "
        "again. No invoice was changed; 0013 stays applied."
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
        # Last, so that backwards it runs first: refused before the index or a column goes.
        migrations.RunPython(migrations.RunPython.noop, _reject_emails_not_sent),
    ]
