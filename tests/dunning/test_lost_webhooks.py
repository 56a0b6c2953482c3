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
    assert committed(tasks.reconcile_awaited_payments)["reconciled"] == {}  # not an hour yet

    _webhook_lost(invoice, ago=collection.AWAITED_RECHECK + timedelta(minutes=1))
    assert committed(tasks.reconcile_awaited_payments) == {
        "reconciled": {invoice.number: "paid"},
        "errors": {},
    }
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_attempts == 1
    assert committed(tasks.reconcile_awaited_payments)["reconciled"] == {}  # settled


def test_a_decline_whose_webhook_was_lost_moves_the_dunning_on(invoiced, committed):
    _, invoice = invoiced(card=DECLINED)
    _webhook_lost(invoice, ago=timedelta(hours=2))
    run = committed(tasks.reconcile_awaited_payments)
    assert run["reconciled"] == {invoice.number: "payment_failed"}
    invoice.refresh_from_db()
    assert invoice.payment_failure_code == "card_declined"
    assert invoice.next_payment_attempt_at is not None  # the next retry is planned again


def test_an_intent_the_processor_fails_on_does_not_hold_up_the_others(invoiced, committed):
    """Each invoice is asked for on its own: a PaymentIntent the processor answers with an
    error (here one it does not know) is reported and stays awaited, and the invoices after
    it are still settled."""
    _, failing = invoiced(card=GOOD)
    _, settled = invoiced(card=GOOD)
    Invoice.objects.filter(pk=failing.pk).update(payment_intent_id="pi_unknown_to_stripe")
    _webhook_lost(failing, ago=timedelta(hours=3))  # asked for first
    _webhook_lost(settled, ago=timedelta(hours=2))

    run = committed(tasks.reconcile_awaited_payments)
    assert run["reconciled"] == {settled.number: "paid"}
    assert list(run["errors"]) == [failing.number]
    assert "payment processor" in run["errors"][failing.number]
    assert Invoice.objects.get(pk=settled.pk).status == InvoiceStatus.PAID
    assert Invoice.objects.awaiting_outcome().filter(pk=failing.pk).exists()
