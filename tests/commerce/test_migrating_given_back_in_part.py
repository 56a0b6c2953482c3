"""Marketplace 0022 keeps each amount given back of an order in part in its own table
(``GivenBackInPart``), which vendor payouts read instead of the ``order_refunded_in_part``
audit events. What was given back before it stays out (no payout counted it, and a statement
sent stays as it was); the events written since it was applied (the previous release's pods,
during the rollout) are filled when the next release runs the fill again, one row per event,
given back when it was written, adding only what is new (docs/operations.md, *Upgrades*)."""

import importlib
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from edgeplug.audit.models import AuditEvent
from marketplace.models import GivenBackInPart
from tests.factories import OrderFactory
from tests.migrations import migrated_back

THE_FILL = importlib.import_module(
    "marketplace.migrations.0022_given_back_in_part"
).fill_from_the_audit_log

pytestmark = pytest.mark.django_db(transaction=True)  # migrating (SQLite) needs no atomic

MARCH, APRIL = datetime(2026, 3, 9, 12, tzinfo=UTC), datetime(2026, 4, 2, 8, tzinfo=UTC)


def told_in_part(order, amount: int, refunds: int, lost: int, when: datetime) -> None:
    """The event as ``orders._given_back`` writes it."""
    details = {
        "order": order.pk,
        "payment_intent": order.payment_intent_id,
        "amount": amount,
        "refunded": refunds + lost,
        "refunds": refunds,
        "lost": lost,
    }
    with time_machine.travel(when, tick=False):  # the events are append-only
        AuditEvent.objects.create(
            action="order_refunded_in_part", target=f"order {order.pk}", details=details
        )


def given(order) -> list[tuple]:
    rows = GivenBackInPart.objects.filter(order=order).order_by("given_at", "id")
    return list(rows.values_list("amount", "given_back_so_far", "given_at", "source", "reference"))


@contextmanager
def applied_at(when: datetime):
    """Marketplace 0022 recorded applied at ``when`` for the block (as it was, after)."""
    recorded = MigrationRecorder(connection).migration_qs.filter(
        app="marketplace", name="0022_given_back_in_part"
    )
    was = recorded.get().applied
    recorded.update(applied=when)
    try:
        yield
    finally:
        recorded.update(applied=was)


def the_fill() -> None:
    with connection.schema_editor() as schema_editor:
        THE_FILL(django_apps, schema_editor)


def test_what_was_given_back_in_part_before_the_upgrade_stays_out_of_payouts():
    """No payout counted it: its months' statements stay as they were sent, and a refund in
    full later counts the whole price back, as it did."""
    order = OrderFactory(amount=1000, payment_intent_id="pi_given")

    with migrated_back("marketplace", "0021_hardware_ids_composed"):
        told_in_part(order, 600, 600, 0, MARCH)

    assert given(order) == []


def test_run_again_the_fill_adds_what_old_pods_told_during_the_rollout():
    """The next release runs the fill again (docs/operations.md, *Upgrades*): an amount an
    old pod only told after 0022 was applied is added, once, a refund or a dispute as the
    order's lost figure says (counted from every event, those before 0022 too); one a new pod
    kept with its event is not kept twice; one told before 0022 stays out."""
    order = OrderFactory(amount=1000, payment_intent_id="pi_twice")
    told_in_part(order, 500, 300, 200, MARCH)  # before the upgrade: a refund, a dispute lost
    rollout = datetime(2026, 4, 1, tzinfo=UTC)
    # during the rollout: an old pod tells a refund of 100 more (lost as it was), a new pod
    # keeps 100 more with its event, an old pod tells a dispute lost of 200 more
    told_in_part(order, 100, 400, 200, APRIL)
    GivenBackInPart.objects.create(
        order=order, amount=100, given_back_so_far=700, given_at=APRIL, source="refund"
    )
    told_in_part(order, 100, 500, 200, APRIL)
    told_in_part(order, 200, 500, 400, APRIL)

    with applied_at(rollout):
        the_fill()
        the_fill()

    assert sorted(given(order), key=lambda row: row[1]) == [
        (100, 600, APRIL, "refund", "pi_twice"),
        (100, 700, APRIL, "refund", ""),
        (200, 900, APRIL, "dispute", ""),
    ]


def test_run_again_the_fill_keeps_nothing_twice_after_a_failed_refund_counted_back():
    """A new pod counted back a refund Stripe failed (marketplace 0023), then kept 300 given
    back again with its event (all given back 300 again, with 600 failed): the fill does not
    keep that amount a second time."""
    order = OrderFactory(amount=1000, payment_intent_id="pi_failed")
    rollout = datetime(2026, 4, 1, tzinfo=UTC)
    told_in_part(order, 600, 600, 0, APRIL)
    GivenBackInPart.objects.create(
        order=order, amount=600, given_back_so_far=600, given_at=APRIL, source="refund"
    )
    GivenBackInPart.objects.create(
        order=order,
        amount=-600,
        given_back_so_far=0,
        failed_so_far=600,
        given_at=APRIL,
        source="refund_failed",
        reference="re_failed",
    )
    with time_machine.travel(APRIL, tick=False):
        AuditEvent.objects.create(
            action="order_refunded_in_part",
            target=f"order {order.pk}",
            details={"order": order.pk, "amount": 300, "refunded": 300, "refunds": 300, "lost": 0}
            | {"failed": 600},
        )
    GivenBackInPart.objects.create(
        order=order,
        amount=300,
        given_back_so_far=300,
        failed_so_far=600,
        given_at=APRIL,
        source="refund",
    )

    with applied_at(rollout):
        the_fill()

    assert sum(GivenBackInPart.objects.filter(order=order).values_list("amount", flat=True)) == 300
