"""Money to give back is settled once, even by two at the same moment (finance by hand and a
dispute's close, or two finance staff): the second waits for the row's lock and is then
refused ``settled_already``, naming the first. Before, the second's read of the row's
settlement was taken with the lock's statement, from before the first committed: both were
recorded, and the row showed either."""

import pytest
from django.db import transaction

from billing import money_back
from billing.errors import SettledAlready
from billing.models import SETTLED, MoneyToGiveBack
from edgeplug.audit.models import AuditEvent
from tests.concurrency import in_thread, needs_row_locks, wait_for_blocked_backend
from tests.factories import TenantFactory

pytestmark = [pytest.mark.django_db(transaction=True), needs_row_locks]


def test_two_settling_one_row_at_once_record_it_once():
    asked = AuditEvent.objects.create(
        action="charge_disputed",
        tenant=TenantFactory(),
        target="invoice 1",
        details={"dispute": "dp_1", "amount": 1000, "currency": "USD"},
    )
    row = MoneyToGiveBack.objects.get(pk=asked.pk)
    answers, errors = [], []

    with transaction.atomic():
        money_back.settle(row, reference="by finance")  # its lock held until this commits
        second = in_thread(
            lambda: money_back.settle(row, reference="dp_1", source=money_back.DISPUTE_CLOSED),
            answers,
            errors,
        )
        wait_for_blocked_backend(or_finished=second)
    second.join()

    assert [type(error) for error in errors] == [SettledAlready], answers
    assert "by finance" in errors[0].detail
    settled = AuditEvent.objects.filter(action=SETTLED)
    assert [event.details["reference"] for event in settled] == ["by finance"]
