"""A tenant's standing (suspended for non-payment or not) is decided one action at a time:
the dunning turning an invoice uncollectible, a payment or a void lifting the suspension and
an order's overdue check each lock the tenant's row first and read the standing again. Each
test holds one of them in a transaction and runs the other in a thread, which is seen to
wait (pg_stat_activity) and then acts on what the first committed. Before, neither waited:
each decided from committed rows only, and the order's or the lift's entitlements stayed
active while an invoice was uncollectible.

And a refund made while the dunning's last attempt holds the invoice that charged the order
waits for it (the refund locks that invoice before the entitlement), then completes; before,
the two deadlocked."""

import threading
from datetime import timedelta

import pytest
from django.db import transaction

from billing import collection, invoicing
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from marketplace import orders, plans
from marketplace.models import Entitlement, EntitlementStatus, Order, OrderStatus
from tests.commerce.conftest import place_order
from tests.concurrency import in_thread, needs_row_locks, wait_for_blocked_backend
from tests.dunning.conftest import DECLINED, days, twin_of
from tests.factories import EntitlementFactory
from tests.invoicing.conftest import JAN

pytestmark = [
    pytest.mark.django_db(transaction=True),  # a held transaction and a second connection
    needs_row_locks,
]


def statuses(tenant) -> dict[int, str]:
    return dict(Entitlement.objects.filter(tenant=tenant).values_list("pk", "status"))


@pytest.fixture
def failing(published, certificate, payer, finalize, settings):
    """A customer of the published agent whose January invoice was declined once and whose
    next attempt is the last (BILLING_DUNNING_DAYS = [1]), with a free plan to order."""
    settings.BILLING_DUNNING_DAYS = [1]
    customer = payer(card=DECLINED, agent=published.agent)
    invoice = finalize(customer.draft)
    assert invoice.status == InvoiceStatus.PAYMENT_FAILED
    free = plans.create_plan(published.agent, key="trial", name="trial", kind="free")
    return customer, invoice, free


def test_an_order_stored_while_the_last_attempt_fails_is_suspended_with_the_rest(
    failing, monkeypatch
):
    """The order holds its transaction (its entitlement made, not committed) while the
    dunning's last attempt fails: the suspension waits for it and suspends its entitlement
    too. Before, it suspended the committed ones only and the order's stayed active."""
    customer, invoice, free = failing
    complete, stored, release = orders._complete, threading.Event(), threading.Event()
    answers, errors, attempts = [], [], []

    def complete_and_hold(order):
        entitlement = complete(order)
        if threading.current_thread().name == "order":
            stored.set()
            release.wait(30)
        return entitlement

    monkeypatch.setattr(orders, "_complete", complete_and_hold)
    order_thread = in_thread(
        lambda: place_order(customer.api, free.agent, free, "during-dunning"),
        answers,
        errors,
        name="order",
    )
    try:
        assert stored.wait(30)
        dunning = in_thread(lambda: collection.retry_invoice_payment(invoice), attempts, errors)
        waited = wait_for_blocked_backend(or_finished=dunning)
    finally:
        release.set()
        order_thread.join()
    dunning.join()

    assert not errors, errors
    [answer], [attempt] = answers, attempts
    assert answer.status_code == 201, answer.json()
    assert attempt.outcome == InvoiceStatus.UNCOLLECTIBLE
    ordered = Entitlement.objects.get(order_id=answer.json()["id"])
    assert statuses(customer.tenant) == {
        customer.entitlement.pk: EntitlementStatus.SUSPENDED,
        ordered.pk: EntitlementStatus.SUSPENDED,
    }
    assert waited is not None  # the suspension waited for the order


def test_an_order_placed_while_the_last_attempt_fails_is_refused(failing):
    """The dunning holds its transaction (uncollectible, suspended, not committed): the
    order's overdue check waits for it and refuses. Before, it read the invoice as it was
    committed (payment_failed) and granted an active entitlement."""
    customer, invoice, free = failing
    answers, errors = [], []
    with transaction.atomic():
        assert collection.retry_invoice_payment(invoice).outcome == InvoiceStatus.UNCOLLECTIBLE
        order = in_thread(
            lambda: place_order(customer.api, free.agent, free, "during-dunning"), answers, errors
        )
        waited = wait_for_blocked_backend(or_finished=order)
    order.join()

    assert not errors, errors
    [answer] = answers
    assert answer.status_code == 402, answer.json()
    assert answer.json()["code"] == "payment_overdue"
    assert not Order.objects.filter(plan=free).exists()
    assert statuses(customer.tenant) == {customer.entitlement.pk: EntitlementStatus.SUSPENDED}
    assert waited is not None  # the order waited for the dunning


@pytest.fixture
def two_invoices(uncollectible):
    """A suspended customer: invoice A uncollectible, invoice B declined with its last attempt
    still to come (BILLING_DUNNING_DAYS is empty: the next failure is the last)."""
    customer, first = uncollectible
    second = twin_of(first)
    Invoice.objects.filter(pk=second.pk).update(
        status=InvoiceStatus.PAYMENT_FAILED,
        payment_failure_code="card_declined",
        next_payment_attempt_at=days(1),
    )
    return customer, first, Invoice.objects.get(pk=second.pk)


def test_a_void_lifting_the_suspension_while_another_invoice_turns_uncollectible(two_invoices):
    """The void of A holds its transaction (entitlements active again, not committed) while
    B's last attempt fails: B's suspension waits for it and suspends them again. Before, it
    found none active (committed: still suspended) and they ended active, B uncollectible."""
    customer, first, second = two_invoices
    attempts, errors = [], []
    with transaction.atomic():
        invoicing.void_invoice(first, reason="billed the wrong entity")
        assert statuses(customer.tenant)[customer.entitlement.pk] == EntitlementStatus.ACTIVE
        dunning = in_thread(lambda: collection.retry_invoice_payment(second), attempts, errors)
        waited = wait_for_blocked_backend(or_finished=dunning)
    dunning.join()

    assert not errors, errors
    assert attempts[0].outcome == InvoiceStatus.UNCOLLECTIBLE
    assert Invoice.objects.get(pk=first.pk).status == InvoiceStatus.VOID
    entitlement = Entitlement.objects.get(pk=customer.entitlement.pk)
    assert entitlement.status == EntitlementStatus.SUSPENDED
    assert second.number in entitlement.status_reason
    assert waited is not None  # the suspension waited for the void


def test_a_payment_made_while_another_invoice_turns_uncollectible_lifts_nothing(two_invoices):
    """B's last attempt holds its transaction (uncollectible, not committed) while A is paid
    offline: the lift waits for it, then finds B uncollectible and leaves the entitlements
    suspended. Before, it saw B as committed (payment_failed) and made them active."""
    customer, first, second = two_invoices
    answers, errors = [], []
    with transaction.atomic():
        assert collection.retry_invoice_payment(second).outcome == InvoiceStatus.UNCOLLECTIBLE
        payment = in_thread(
            lambda: collection.record_offline_payment(first, reference="SEPA-1"), answers, errors
        )
        waited = wait_for_blocked_backend(or_finished=payment)
    payment.join()

    assert not errors, errors
    assert Invoice.objects.get(pk=first.pk).status == InvoiceStatus.PAID
    assert Invoice.objects.get(pk=second.pk).status == InvoiceStatus.UNCOLLECTIBLE
    assert statuses(customer.tenant) == {customer.entitlement.pk: EntitlementStatus.SUSPENDED}
    assert waited is not None  # the payment's lift waited for the dunning


def test_a_refund_during_the_last_attempt_on_its_invoice_waits_then_completes(
    payer, finalize, clock, settings
):
    """The dunning's last attempt holds the January invoice (as during its Stripe call) when
    finance refunds a one-time order that invoice charged. The refund waits for the invoice
    before it touches the order's entitlement, so the attempt goes on (suspending that
    entitlement with the others), commits, and the refund then revokes it and issues its
    credit note. Before, the refund revoked the entitlement first and then waited for the
    invoice while the attempt waited for the entitlement: a deadlock, one of them aborted."""
    settings.BILLING_DUNNING_DAYS = [1]
    customer = payer(card=DECLINED)
    order = customer.one_time(at=JAN + timedelta(days=3))
    bought = EntitlementFactory(order=order)
    invoicing.close_billing_period(JAN)  # the draft now charges the order too
    invoice = finalize(Invoice.objects.get(pk=customer.draft.pk))
    assert invoice.status == InvoiceStatus.PAYMENT_FAILED
    assert invoice.lines.filter(order=order).exists()
    clock.move_to(days(1))
    refunds, errors = [], []

    with transaction.atomic():
        # The beat job's attempt has taken the invoice and is at Stripe.
        Invoice.objects.select_for_update().get(pk=invoice.pk)
        refund = in_thread(lambda: orders.refund_order(order), refunds, errors)
        wait_for_blocked_backend()
        run = collection.retry_due_invoice_payments()
    refund.join()

    assert not errors, errors
    assert run.errors == {} and run.attempted == {invoice.number: InvoiceStatus.UNCOLLECTIBLE}
    [done] = refunds
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    assert statuses(customer.tenant) == {
        customer.entitlement.pk: EntitlementStatus.SUSPENDED,
        bought.pk: EntitlementStatus.REVOKED,
    }
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert done.credit_note == note and note.credit_of_id == invoice.pk
