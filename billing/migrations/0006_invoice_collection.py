"""Payment and dunning: why the last collection failed (lifecycle columns, not frozen by the
trigger), the index the dunning job reads, and the finance permission to collect."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_invoice_prepaid_amount"),
        ("tenancy", "0002_staff_groups"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="invoice",
            options={
                "ordering": ["-period_start", "-id"],
                "permissions": [
                    ("finalize_invoice", "Can finalize an invoice now (finance)"),
                    ("void_invoice", "Can void an unpaid invoice (finance)"),
                    ("credit_invoice", "Can issue a credit note (finance)"),
                    ("adjust_invoice", "Can add an adjustment line to a draft (finance)"),
                    (
                        "collect_invoice",
                        "Can retry a payment or record an offline payment (finance)",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="invoice",
            name="payment_failure_code",
            field=models.CharField(
                blank=True, help_text="why the last collection did not succeed", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="payment_failure_detail",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                fields=["status", "next_payment_attempt_at"], name="billing_inv_status_05d52e_idx"
            ),
        ),
    ]
