"""The months a close has drafted after they ended (``ClosedMonth``): the hourly close catches
up an ended month without one, and only a closed month has late usage. Each month an invoice
(void or not) was drafted for that had ended by now is recorded closed, when its first invoice
was drafted; the reverse drops the table."""

from django.db import migrations, models
from django.db.models import Min
from django.utils import timezone


def record_months_closed_so_far(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    ClosedMonth = apps.get_model("billing", "ClosedMonth")
    months = (
        Invoice.objects.filter(kind="invoice", period_end__lte=timezone.now())
        .values("period_start")
        .annotate(first_drafted=Min("created_at"))
        .order_by("period_start")
    )
    ClosedMonth.objects.bulk_create(
        ClosedMonth(period_start=month["period_start"], closed_at=month["first_drafted"])
        for month in months
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0023_invoice_email_domains_each_once"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClosedMonth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "period_start",
                    models.DateTimeField(help_text="first instant of the UTC month", unique=True),
                ),
                (
                    "closed_at",
                    models.DateTimeField(help_text="when the first close after its end finished"),
                ),
            ],
            options={
                "ordering": ["period_start"],
            },
        ),
        migrations.RunPython(record_months_closed_so_far, migrations.RunPython.noop),
    ]
