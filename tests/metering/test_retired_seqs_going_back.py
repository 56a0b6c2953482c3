"""Migrating billing back before its usage partitions (0003_usage_partitions) would drop
``UsageRetiredSeqRange``, the one record of the seqs retention deleted: a device resending one
would be counted again. Once retention has retired seqs, the way back stops, naming the
devices, and nothing changes."""

from datetime import timedelta

from django.conf import settings

from billing.models import UsageRetiredSeqRange
from billing.periods import add_months, month_start
from billing.tasks import maintain_usage_partitions
from tests.migrations import migrating_billing_back_to, refusal_going_back

pytestmark = migrating_billing_back_to("0002")


def test_migrating_back_refuses_once_retention_retired_seqs(metered, time_machine):
    sessions = [metered.session(seq, metered.base + timedelta(minutes=seq), 20) for seq in (1, 2)]
    assert metered.send(sessions).json()["totals"]["accepted"] == 2
    month_end = add_months(month_start(metered.base), 1)
    time_machine.move_to(
        month_end + timedelta(days=settings.USAGE_RAW_RETENTION_DAYS, minutes=1), tick=False
    )
    maintain_usage_partitions.apply().get()
    retired = list(UsageRetiredSeqRange.objects.values_list("device_id", "first", "last"))
    assert retired == [(metered.device_id, 1, 2)]

    message = refusal_going_back("billing", "0002_usage_metering") or ""

    assert "retention deleted raw events of 1 device(s)" in message
    assert f"({metered.device_id})" in message
    assert list(UsageRetiredSeqRange.objects.values_list("device_id", "first", "last")) == retired
    resent = metered.send([metered.session(1, metered.base + timedelta(minutes=1), 20)]).json()
    assert resent["results"] == [{"seq": 1, "outcome": "rejected", "code": "too_late"}]
