"""Migration marketplace 0014 gives each order refunded before it a refund time (its last
change: nothing changes a refunded order), so the beat job that rechecks recent refunds
(``money_back.recheck_card_refunds``) sees the orders refunded in its window."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.models import Order
from tests.factories import OrderFactory
from tests.migrations import migrated_back

BEFORE = "0013_deployment_seat_order"


@pytest.mark.django_db(transaction=True)  # migrating (SQLite's schema editor) needs no atomic
def test_orders_refunded_before_the_migration_are_given_their_last_change_as_refund_time():
    refunded, completed = OrderFactory(), OrderFactory()
    last_change = timezone.now() - timedelta(days=2)
    with migrated_back("marketplace", BEFORE) as migrator:
        old = migrator.old_model("Order")
        old.objects.filter(pk=refunded.pk).update(status="refunded", updated_at=last_change)
        migrator.forward("0014_order_refunded_at")

    assert Order.objects.get(pk=refunded.pk).refunded_at == last_change
    assert Order.objects.get(pk=completed.pk).refunded_at is None
