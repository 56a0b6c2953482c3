"""A charge's outcome comes by webhook; when the webhook is lost, the beat job asks Stripe
(localstripe here) for the PaymentIntent again after an hour and applies it as the webhook
would have, so an invoice never waits for an outcome forever (finance's retry and the dunning
wait for it: ``payment_pending``)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import collection, tasks
from billing.models import Invoice, InvoiceStatus
from tests.dunning.conftest import DECLINED, GOOD

pytestmark = pytest.mark.django_db


def _webhook_lost(invoice, *, ago):
    """The state the charge left before its outcome was known, as if no webhook came since."""
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.OPEN,
        paid_at=None,
        next_payment_attempt_at=None,
        payment_failure_code="",
        payment_failure_detail="",
        updated_at=timezone.now() - ago,
    )
    assert Invoice.objects.awaiting_outcome().filter(pk=invoice.pk).exists()


def test_a_success_whose_webhook_was_lost_pays_the_invoice_after_an_hour(invoiced, committed):
    _, invoice = invoiced(card=GOOD)
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_intent_id
    _webhook_lost(invoice, ago=timedelta(minutes=30))
    assert committed(tasks.reconcile_awaited_payments) == {}  # not an hour yet

    _webhook_lost(invoice, ago=collection.AWAITED_RECHECK + timedelta(minutes=1))
    assert committed(tasks.reconcile_awaited_payments) == {invoice.number: "paid"}
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_attempts == 1
    assert committed(tasks.reconcile_awaited_payments) == {}  # settled: not asked again


def test_a_decline_whose_webhook_was_lost_moves_the_dunning_on(invoiced, committed):
    _, invoice = invoiced(card=DECLINED)
    _webhook_lost(invoice, ago=timedelta(hours=2))
    assert committed(tasks.reconcile_awaited_payments) == {invoice.number: "payment_failed"}
    invoice.refresh_from_db()
    assert invoice.payment_failure_code == "card_declined"
    assert invoice.next_payment_attempt_at is not None  # the next retry is planned again
