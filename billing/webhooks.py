"""Stripe webhooks: verify the signature, store each event id once, re-fetch, apply.

An event is a trigger, not the truth: payment events make us re-fetch the PaymentIntent and
apply its current state (an invoice's: billing.collection; an order's:
marketplace.orders.sync_payment), refund events the refund (billing.money_back.sync_refund),
a refund made in Stripe or a chargeback lost of an invoice's charge is booked by its id
(billing.taken_back), so duplicate and out-of-order deliveries end in the same single
entitlement, paid invoice or refund. The event row and its effects commit together: if
handling fails, nothing is stored and Stripe retries.
"""

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction

from billing import collection, money_back, payments, taken_back
from billing.errors import PaymentMethodRemoved, PaymentNotOurs, RetryLater
from billing.models import WebhookEvent
from edgeplug.core.columns import clipped
from edgeplug.core.locking import rows_busy
from marketplace import orders

PAYMENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.processing",
    "payment_intent.canceled",
}
# A refund's status changed; ``refund.failed`` since API version 2024-10-28.acacia for card
# refunds too, ``charge.refund.updated`` before.
REFUND_EVENTS = {"refund.failed", "refund.updated", "charge.refund.updated"}
# A dispute opened, changed (an inquiry escalated to a chargeback: ``funds_withdrawn``, and
# ``updated``, as evidence is sent), closed: each carries its current status.
DISPUTE_EVENTS = {
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.closed",
}


def _object(event) -> dict:
    return event["data"]["object"].to_dict()


def handle_webhook(payload: bytes, signature: str) -> str:
    """Verify and handle one delivery; returns what happened ("handled", "duplicate"...)."""
    event = payments.verified_event(payload, signature)
    try:
        with transaction.atomic():
            _limit_lock_wait()
            record = WebhookEvent.objects.create(
                event_id=event["id"], type=event["type"], object_id=_object(event).get("id", "")
            )
            outcome = _outcome_of(event)
            record.outcome = outcome
            record.save(update_fields=["outcome"])
    except IntegrityError:
        if WebhookEvent.objects.filter(event_id=event["id"]).exists():
            return "duplicate"
        raise
    except OperationalError as exc:
        if not rows_busy(exc):
            raise  # the database cannot serve now: the API's 503 database_unavailable
        # An order or invoice row is locked (a payment being collected): Stripe retries a 503.
        raise RetryLater("The payment is busy; deliver this event again later.") from exc
    return outcome


def _limit_lock_wait() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                [f"{settings.STRIPE_WEBHOOK_LOCK_TIMEOUT_MS}ms"],
            )


def _outcome_of(event) -> str:
    """What ``_dispatch`` did; a payment naming one of our invoices or orders that is not
    its payment (its refusal told to finance) is acknowledged: nothing else changed, and
    Stripe stops delivering it."""
    try:
        return _dispatch(event)
    except PaymentNotOurs as refused:
        return clipped(WebhookEvent, "outcome", f"{refused.code}: {refused.detail}")


def _dispatch(event) -> str:
    kind = event["type"]
    obj = _object(event)
    if kind in PAYMENT_EVENTS:
        outcome = payments.payment_status(obj["id"])
        if collection.invoice_id_of(outcome) is not None:
            invoice = collection.sync_invoice_payment(outcome)
            return f"invoice {invoice.pk} {invoice.status}" if invoice else "no invoice"
        order = orders.sync_payment(outcome)
        return f"order {order.pk} {order.status}" if order else "no order"
    if kind == "charge.refunded":
        intent = obj.get("payment_intent")
        if intent and (booked := taken_back.book_refunds_in_stripe(intent)) is not None:
            return booked
        order = orders.sync_payment(payments.payment_status(intent)) if intent else None
        return f"order {order.pk} {order.status}" if order else "no order"
    if kind in DISPUTE_EVENTS:
        return taken_back.record_dispute(obj)
    if kind in REFUND_EVENTS:
        return money_back.sync_refund(obj["id"])
    if kind == "setup_intent.succeeded":
        try:
            method = payments.record_setup_for_customer(obj.get("customer") or "", obj["id"])
        except PaymentMethodRemoved:
            return "payment method removed"  # acknowledged: Stripe stops delivering it
        return f"payment method {method.pk}" if method else "no customer"
    if kind == "customer.deleted":
        customer = payments.forget_deleted_customer(obj["id"])
        return f"customer of tenant {customer.tenant_id} forgotten" if customer else "no customer"
    if kind == "payment_method.detached":
        forgotten = payments.forget_detached_card(obj["id"])
        return f"card {obj['id']} forgotten" if forgotten else "no card"
    return "ignored"
