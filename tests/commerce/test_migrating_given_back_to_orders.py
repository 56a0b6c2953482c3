"""Marketplace 0020 keeps on each order what Stripe gave back of its payment
(``refunded_in_stripe``, ``lost_in_disputes``), which was read back from its
``order_refunded_in_part`` audit events: it fills them from those events, so an order given
back in part before the upgrade still has only the rest refunded in full."""

import pytest

from edgeplug.audit.models import AuditEvent
from marketplace.models import Order
from tests.factories import OrderFactory
from tests.migrations import migrated_back

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
