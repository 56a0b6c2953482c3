"""Marketplace 0022 keeps each amount given back of an order in part in its own table
(``GivenBackInPart``), which vendor payouts read instead of the ``order_refunded_in_part``
audit events: it fills the table from those events (one row per event, given back when the
event was written), and run again it adds only what is new (docs/operations.md, *Upgrades*)."""

import importlib
from datetime import UTC, datetime

import pytest
import time_machine
from django.apps import apps as django_apps

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


def test_what_was_given_back_in_part_before_the_upgrade_is_in_the_table():
    order = OrderFactory(amount=1000, payment_intent_id="pi_given")
    untold = OrderFactory(amount=1000)

    with migrated_back("marketplace", "0021_hardware_ids_composed"):
        told_in_part(order, 600, 600, 0, MARCH)  # refunded in Stripe's dashboard
        told_in_part(order, 300, 600, 300, APRIL)  # a dispute lost after it

    assert given(order) == [
        (600, 600, MARCH, "refund", "pi_given"),
        (300, 900, APRIL, "dispute", ""),  # the event did not name the dispute
    ]
    assert given(untold) == []


def test_run_again_the_fill_adds_only_what_is_new():
    """The next release runs the fill again (docs/operations.md, *Upgrades*): an amount a new
    pod kept with its event is not kept twice, one an old pod only told is added."""
    order = OrderFactory(amount=1000, payment_intent_id="pi_twice")
    told_in_part(order, 600, 600, 0, MARCH)
    THE_FILL(django_apps, None)
    # during the rollout: a new pod keeps 100 more with its event, an old pod tells 200 more
    GivenBackInPart.objects.create(
        order=order, amount=100, given_back_so_far=700, given_at=APRIL, source="refund"
    )
    told_in_part(order, 100, 700, 0, APRIL)
    told_in_part(order, 200, 900, 0, APRIL)

    THE_FILL(django_apps, None)

    assert [row[:2] for row in given(order)] == [(600, 600), (100, 700), (200, 900)]
