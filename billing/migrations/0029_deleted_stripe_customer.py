"""The tenants' Stripe customers that Stripe deleted (``DeletedStripeCustomer``), no longer
read back from their ``stripe_customer_deleted`` audit events: the table is filled from those
events (each of a tenant still there, deleted when it was audited). The reverse drops the
table; the events stay."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def fill_from_the_audit_log(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    DeletedStripeCustomer = apps.get_model("billing", "DeletedStripeCustomer")
    events = AuditEvent.objects.filter(action="stripe_customer_deleted", tenant__isnull=False)
    rows = events.order_by("pk").values_list("tenant_id", "details__customer", "created_at")
    DeletedStripeCustomer.objects.bulk_create(
        (
            DeletedStripeCustomer(tenant_id=tenant, customer_id=customer, deleted_at=when)
            for tenant, customer, when in rows.iterator()
            if isinstance(customer, str) and customer
        ),
        ignore_conflicts=True,  # a customer told twice is one customer
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_auditevent_audit_tenant_trail_order"),
        ("billing", "0028_card_refund_reference_index"),
        ("tenancy", "0004_retired_slug"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeletedStripeCustomer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("customer_id", models.CharField(max_length=255, unique=True)),
                ("deleted_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenancy.tenant",
                    ),
                ),
            ],
        ),
        migrations.RunPython(fill_from_the_audit_log, migrations.RunPython.noop),
    ]
