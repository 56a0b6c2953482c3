"""Each dispute of a card payment (``ChargeDispute``: its ``dp_…``, PaymentIntent and status as
last told), no longer read back from its ``charge_disputed`` / ``charge_dispute_closed`` audit
events: the table is filled from those events, in the order they were written, by the rule
the webhook applies (``billing.payments.news``). Closes the previous release recorded as
``charge_disputed`` (``warning_closed``, ``prevented``) are closes. The fill can run again:
it recomputes each dispute from all its events. The reverse drops the table; the events
stay."""

import django.utils.timezone
from django.db import migrations, models


def fill_from_the_audit_log(apps, schema_editor):
    from billing.payments import news

    AuditEvent = apps.get_model("audit", "AuditEvent")
    ChargeDispute = apps.get_model("billing", "ChargeDispute")
    told: dict[str, tuple[str, str, object]] = {}
    events = AuditEvent.objects.filter(action__in=("charge_disputed", "charge_dispute_closed"))
    rows = events.order_by("pk").values_list(
        "details__dispute", "details__payment_intent", "details__status", "created_at"
    )
    for dispute, intent, status, when in rows.iterator():
        if not (isinstance(dispute, str) and dispute and isinstance(status, str)):
            continue
        before = told.get(dispute)
        if news(before[1] if before else None, status):
            told[dispute] = (str(intent or ""), status, when)
    for dispute, (intent, status, when) in told.items():
        ChargeDispute.objects.update_or_create(
            dispute_id=dispute,
            defaults={"payment_intent_id": intent, "status": status, "told_at": when},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_mark_events_by_staff_again"),
        ("billing", "0029_deleted_stripe_customer"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChargeDispute",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("dispute_id", models.CharField(max_length=255, unique=True)),
                ("payment_intent_id", models.CharField(db_index=True, max_length=255)),
                ("status", models.CharField(max_length=64)),
                ("told_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RunPython(fill_from_the_audit_log, migrations.RunPython.noop),
    ]
