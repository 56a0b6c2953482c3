"""Each amount given back of an order in part (a refund made in Stripe's dashboard, a dispute
lost in part) is kept in its own table, ``GivenBackInPart``, which vendor payouts read, no
longer read back from the ``order_refunded_in_part`` audit events.

The amounts given back before this migration are left out: no payout counted them (a month's
statement stays as it was sent), and an order refunded in full later still counts its whole
price back then, as it did. Only the events written since it was recorded applied are filled,
one row per event (its ``amount``, given back when it was written), keyed by what was given
back of the order with it (``refunded``, which only grows): those the previous release's
pods write while the new one rolls out. Applied for the first time, it fills nothing; the
next release runs the fill again (docs/operations.md, *Upgrades*), and it adds only what is
new. An event naming no order, amount or total, or an order no longer there, is left out.
The reverse drops the table; the events stay."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.migrations.recorder import MigrationRecorder


def _row(GivenBackInPart, details, when, lost_before: dict[int, int]):
    """The row of one event, or None when it names no order and amount; a dispute when the
    order's ``lost`` grew with it (its PaymentIntent named only for a refund: the event did not
    name the dispute)."""
    if not isinstance(details, dict):
        return None
    order_id, amount, so_far = (details.get(key) for key in ("order", "amount", "refunded"))
    if not all(isinstance(value, int) and value > 0 for value in (order_id, amount, so_far)):
        return None
    lost = details.get("lost") if isinstance(details.get("lost"), int) else 0
    disputed = lost > lost_before.get(order_id, 0)
    lost_before[order_id] = max(lost, lost_before.get(order_id, 0))
    if details.get("failed"):
        # Told after a failed refund was counted back (marketplace 0023): only a pod that
        # keeps its row with its event writes it, under another key than this fill's.
        return None
    return GivenBackInPart(
        order_id=order_id,
        amount=amount,
        given_back_so_far=so_far,
        given_at=when,
        source="dispute" if disputed else "refund",
        reference="" if disputed else str(details.get("payment_intent") or "")[:255],
    )


def fill_from_the_audit_log(apps, schema_editor):
    applied = (
        MigrationRecorder(schema_editor.connection)
        .migration_qs.filter(app="marketplace", name="0022_given_back_in_part")
        .values_list("applied", flat=True)
        .first()
    )
    if applied is None:  # being applied now: every event so far predates the rule
        return
    AuditEvent = apps.get_model("audit", "AuditEvent")
    GivenBackInPart = apps.get_model("marketplace", "GivenBackInPart")
    Order = apps.get_model("marketplace", "Order")
    # Every event read, so that a dispute is told from a refund by what the order had lost
    # before it; only those written since the rule was applied are kept.
    events = AuditEvent.objects.filter(action="order_refunded_in_part").order_by("pk")
    lost_before: dict[int, int] = {}
    rows = [
        row
        for details, when in events.values_list("details", "created_at").iterator()
        if (row := _row(GivenBackInPart, details, when, lost_before)) is not None
        and when >= applied
    ]
    orders = Order.objects.filter(pk__in={row.order_id for row in rows})
    kept = set(orders.values_list("pk", flat=True))
    GivenBackInPart.objects.bulk_create(
        [row for row in rows if row.order_id in kept],
        batch_size=1000,
        ignore_conflicts=True,  # kept already: by a new pod with its event, or a run before
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_auditevent_audit_tenant_trail_order"),
        ("marketplace", "0021_hardware_ids_composed"),
    ]

    operations = [
        migrations.CreateModel(
            name="GivenBackInPart",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "amount",
                    models.PositiveBigIntegerField(help_text="minor units of the order's currency"),
                ),
                ("given_back_so_far", models.PositiveBigIntegerField(help_text="minor units")),
                ("given_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "source",
                    models.CharField(
                        choices=[("refund", "refunded in Stripe"), ("dispute", "dispute lost")],
                        max_length=16,
                    ),
                ),
                ("reference", models.CharField(blank=True, max_length=255)),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="given_back_in_part",
                        to="marketplace.order",
                    ),
                ),
            ],
            options={
                "ordering": ["given_at", "id"],
                "indexes": [models.Index(fields=["given_at"], name="given_back_in_part_by_time")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("order", "given_back_so_far"), name="given_back_in_part_once"
                    )
                ],
            },
        ),
        migrations.RunPython(fill_from_the_audit_log, migrations.RunPython.noop),
    ]
