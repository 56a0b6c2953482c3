"""What Stripe gave back of an order's payment outside EdgePlug (refunds in its dashboard,
disputes lost) is kept on the order, no longer read back from its ``order_refunded_in_part``
audit events: each order is filled from those events, the largest of each figure told (both
only grow), never lowering what the order holds, so that it can run again (docs/operations.md,
*Upgrades*). An order refunded in full before keeps what its last event said (nothing reads
them once it is refunded). The reverse drops the columns; the events stay."""

from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Greatest


def fill_from_the_audit_log(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    Order = apps.get_model("marketplace", "Order")
    told: dict[int, tuple[int, int]] = {}
    events = AuditEvent.objects.filter(action="order_refunded_in_part")
    for details in events.values_list("details", flat=True).iterator():
        order_id = details.get("order")
        if not isinstance(order_id, int):
            continue
        refunds, lost = told.get(order_id, (0, 0))
        if "refunds" not in details and "lost" not in details:  # the first form: refunds only
            details = {"refunds": details.get("refunded")}
        told[order_id] = (
            max(refunds, details.get("refunds") or 0),
            max(lost, details.get("lost") or 0),
        )
    # An order a failed refund in part was counted back of (marketplace 0023) holds less than
    # its events in part said: what it holds is its own since, never raised again.
    counted_back = AuditEvent.objects.filter(action="order_refund_in_part_failed")
    failed = set(counted_back.values_list("details__order", flat=True))
    for order_id, (refunds, lost) in told.items():
        if order_id in failed:
            continue
        # Never lower what the order holds: run again, the last event of an order refunded
        # in full is below what its webhook kept on it.
        Order.objects.filter(pk=order_id).update(
            refunded_in_stripe=Greatest(F("refunded_in_stripe"), Value(refunds)),
            lost_in_disputes=Greatest(F("lost_in_disputes"), Value(lost)),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_auditevent_audit_tenant_trail_order"),
        ("marketplace", "0019_catalogue_generation"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="refunded_in_stripe",
            field=models.PositiveBigIntegerField(default=0, db_default=0, help_text="minor units"),
        ),
        migrations.AddField(
            model_name="order",
            name="lost_in_disputes",
            field=models.PositiveBigIntegerField(default=0, db_default=0, help_text="minor units"),
        ),
        migrations.RunPython(fill_from_the_audit_log, migrations.RunPython.noop),
    ]
