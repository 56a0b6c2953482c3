"""A /metrics scrape counts devices with gaps (``edgeplug_usage_devices_with_gaps``) by asking
each device for its first range after a gap, not by reading every sequence range: a device
that loses an event now and then has a range more for each loss, and every web pod is
scraped every few seconds. Rows read are counted from EXPLAIN (ANALYZE)."""

import pytest
from django.utils import timezone

from billing.models import UsageSeqRange
from marketplace.models import Device
from tests.factories import TenantFactory
from tests.query_plans import analyze, counts_rows_read, queries_of, rows_read, touching

pytestmark = [pytest.mark.django_db, counts_rows_read]

DEVICES, GAPS = 2_000, 50


def test_a_scrape_reads_about_a_range_a_device_not_every_range(scrape):
    tenant, now = TenantFactory(), timezone.now()
    devices = Device.objects.bulk_create(
        Device(tenant=tenant, name=f"gw-{n}", hardware_id=f"hw-{n}", core="cortex-m4",
               token_prefix=f"tk{n}", token_hash="0" * 64, token_created_at=now)
        for n in range(DEVICES)
    )  # fmt: skip
    # Each device sent from 1 on and lost one event in a hundred: GAPS ranges after its
    # first; a last device has sent nothing, and one sent 1-98 only (no gap either).
    UsageSeqRange.objects.bulk_create(
        UsageSeqRange(device=d, first=1 + 100 * g, last=98 + 100 * g)
        for d in devices[:-2]
        for g in range(GAPS + 1)
    )
    UsageSeqRange.objects.create(device=devices[-1], first=1, last=98)
    analyze(UsageSeqRange, Device)

    response, sqls = queries_of(scrape)
    assert response.status_code == 200
    assert f"edgeplug_usage_devices_with_gaps {float(DEVICES - 2)}" in response.content.decode()
    read = sum(rows_read(sql, UsageSeqRange) for sql in touching(sqls, UsageSeqRange))
    in_all = UsageSeqRange.objects.count()
    assert read <= 2 * DEVICES, f"one scrape read {read:,} of {in_all:,} sequence ranges"
