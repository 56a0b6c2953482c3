"""Marketplace 0020 keeps on each order what Stripe gave back of its payment
(``refunded_in_stripe``, ``lost_in_disputes``), which was read back from its
``order_refunded_in_part`` audit events: it fills them from those events, so an order given
back in part before the upgrade still has only the rest refunded in full."""

import importlib

import pytest
from django.apps import apps as django_apps

from edgeplug.audit.models import AuditEvent
from marketplace.models import Order
from tests.factories import OrderFactory
from tests.migrations import migrated_back

THE_FILL = importlib.import_module(
    "marketplace.migrations.0020_order_given_back_in_stripe"
).fill_from_the_audit_log

pytestmark = pytest.mark.django_db(transaction=True)  # migrating (SQLite) needs no atomic


def told_in_part(order, refunds: int, lost: int) -> None:
    details = {"order": order.pk, "refunded": refunds + lost, "refunds": refunds, "lost": lost}
    AuditEvent.objects.create(
        action="order_refunded_in_part", target=f"order {order.pk}", details=details
    )


def test_what_was_given_back_before_the_upgrade_is_on_its_order():
    given, untold = OrderFactory(amount=1000), OrderFactory(amount=1000)

    with migrated_back("marketplace", "0019_catalogue_generation"):
        told_in_part(given, 600, 0)
        told_in_part(given, 600, 300)  # a dispute lost after the refund in part
        told_in_part(given, 200, 300)  # an older refunds figure told late never lowers it

    given.refresh_from_db()
    assert (given.refunded_in_stripe, given.lost_in_disputes) == (600, 300)
    untold.refresh_from_db()
    assert (untold.refunded_in_stripe, untold.lost_in_disputes) == (0, 0)
    assert Order.objects.filter(refunded_in_stripe__gt=0).count() == 1


def test_run_again_the_fill_never_lowers_what_an_order_holds():
    """The next release runs the fill again (docs/operations.md, *Upgrades*): an order a
    webhook brought up to its price holds more than its last event in part said."""
    refunded = OrderFactory(amount=1000, refunded_in_stripe=400, lost_in_disputes=600)
    first_form = OrderFactory(amount=1000)
    told_in_part(refunded, 400, 0)
    AuditEvent.objects.create(  # the event's first form named only what was refunded
        action="order_refunded_in_part",
        target=f"order {first_form.pk}",
        details={"order": first_form.pk, "refunded": 250},
    )

    THE_FILL(django_apps, None)

    refunded.refresh_from_db()
    assert (refunded.refunded_in_stripe, refunded.lost_in_disputes) == (400, 600)
    first_form.refresh_from_db()
    assert (first_form.refunded_in_stripe, first_form.lost_in_disputes) == (250, 0)


def test_run_again_the_fill_never_raises_what_a_failed_refund_lowered():
    """A refund in part Stripe failed later was counted back (marketplace 0023): the order
    holds less than its events in part said, and the fill leaves it so."""
    order = OrderFactory(amount=1000, refunded_in_stripe=0)
    told_in_part(order, 600, 0)
    AuditEvent.objects.create(
        action="order_refund_in_part_failed",
        target=f"order {order.pk}",
        details={"order": order.pk, "amount": 600, "refunded": 0, "refunds": 0, "lost": 0},
    )

    THE_FILL(django_apps, None)

    order.refresh_from_db()
    assert order.refunded_in_stripe == 0
