"""Retiring a plan reads its row once, locked (``marketplace.plans.retire_plan``): the action
locks it to check that no revision replaced it, and stamps that row. It read and locked the
row a second time (``stamp_once``) in the same transaction, where nothing could have changed
it. Retiring stays what it was: stamped and audited once, again a no-op."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from edgeplug.audit.models import AuditEvent
from marketplace.models import PricePlan
from marketplace.plans import retire_plan

pytestmark = pytest.mark.django_db

TABLE = PricePlan._meta.db_table


def _row_reads(ctx, plan: PricePlan) -> list[str]:
    """The queries that read the plan's row by its id (its whole row, as ``locked`` does)."""
    by_id = f'WHERE "{TABLE}"."id" = {plan.pk}'
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith(f'SELECT "{TABLE}"."id"') and by_id in q["sql"]
    ]


def test_retiring_a_plan_reads_and_locks_its_row_once(make_plan):
    plan = make_plan("free")
    with CaptureQueriesContext(connection) as ctx:
        retired = retire_plan(plan)
    reads = _row_reads(ctx, plan)
    assert len(reads) == 1, reads
    if connection.features.has_select_for_no_key_update:
        assert "FOR NO KEY UPDATE" in reads[0]

    stored = PricePlan.objects.get(pk=plan.pk)
    assert stored.retired_at is not None and stored.retired_at == retired.retired_at
    assert AuditEvent.objects.filter(action="price_plan_retired").count() == 1
    again = retire_plan(stored)
    assert again.retired_at == retired.retired_at
    assert AuditEvent.objects.filter(action="price_plan_retired").count() == 1
