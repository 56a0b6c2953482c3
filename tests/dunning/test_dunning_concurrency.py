"""The dunning beat job skips an invoice another worker holds (SELECT ... FOR UPDATE SKIP
LOCKED) instead of waiting for it or charging it a second time."""

import threading

import pytest
from django.db import connections, transaction

from billing import tasks
from billing.models import Invoice
from tests.concurrency import needs_row_locks
from tests.dunning.conftest import DECLINED, days, intents_of


@pytest.mark.django_db(transaction=True)
@needs_row_locks
def test_an_invoice_being_charged_elsewhere_is_skipped_then_retried(invoiced, clock, eager_celery):
    customer, invoice = invoiced(card=DECLINED)
    clock.move_to(days(1))
    locked, release = threading.Event(), threading.Event()

    def another_worker():
        try:
            with transaction.atomic():
                Invoice.objects.select_for_update().get(pk=invoice.pk)
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    worker = threading.Thread(target=another_worker)
    worker.start()
    assert locked.wait(30)
    try:
        assert tasks.retry_due_invoice_payments() == {"attempted": {}, "errors": {}}
    finally:
        release.set()
        worker.join()
    assert tasks.retry_due_invoice_payments()["attempted"] == {invoice.number: "payment_failed"}
    assert [i.metadata["attempt"] for i in intents_of(customer.tenant)] == ["1", "2"]
