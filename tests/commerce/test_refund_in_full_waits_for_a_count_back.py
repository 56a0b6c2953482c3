""" "Refund in full" reads what is left to give back under the order's lock: a failed
dashboard refund being counted back at that moment (``orders._count_back_failed_refund``,
which holds the lock) is counted before the refund reads it, so the refund gives back the
whole rest. Before, the refund read the order unlocked and asked Stripe for the rest as it was
(4.00 of 10.00), then the count-back went on: the customer was 6.00 short."""

import pytest
from django.db import transaction

from marketplace import orders
from marketplace.models import Order
from tests.commerce.conftest import stripe_client
from tests.commerce.test_order_refunded_in_part_in_stripe import (  # noqa: F401
    order,
    refunded_in_dashboard,
    refunded_of,
)
from tests.concurrency import in_thread, needs_row_locks, wait_for_blocked_backend
from tests.dunning.test_card_refunds_failing_later import card_refund_fails

pytestmark = [pytest.mark.django_db(transaction=True), needs_row_locks]


def test_refund_in_full_waits_for_a_count_back_holding_the_order(order, api):  # noqa: F811
    refunded_in_dashboard(api, order, 600, "evt_part")
    (refund,) = stripe_client().v1.refunds.list(params={"payment_intent": order.payment_intent_id})
    card_refund_fails(refund.id)  # its refund.failed is being handled as finance confirms
    answers, errors = [], []
    with transaction.atomic():
        held = Order.objects.select_for_update().get(pk=order.pk)
        finance = in_thread(lambda: orders.refund_order(order), answers, errors)
        # The count-back, as it goes on under the lock: the refund in part failed.
        held.refunded_in_stripe = 0
        held.save(update_fields=["refunded_in_stripe"])
        waited = wait_for_blocked_backend(or_finished=finance)
    finance.join()

    assert errors == []
    assert waited is not None  # the refund waited for the lock before asking Stripe
    assert refunded_of(order) == 1000  # the whole price, the 6.00 having failed
