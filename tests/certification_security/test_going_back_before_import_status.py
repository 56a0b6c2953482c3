"""Migrating certification back before import statuses (0008): every row is a completed import
again, the newest of which says when the database was refreshed. So the rows that record no
refresh go (a running import, a failed one that stored nothing) and a failed import that
stored advisories stays, as ``database_status`` counts them today."""

from datetime import timedelta

import pytest
from django.utils import timezone

from certification.models import AdvisoryImport, ImportStatus
from certification.vulndb.database import database_status
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db(transaction=True)  # migrating needs no atomic around it


def test_going_back_keeps_only_imports_that_refreshed_the_database():
    now = timezone.now()

    def imported(path, status, hours_ago, **counts):
        return AdvisoryImport.objects.create(
            path=path,
            status=status,
            started_at=now - timedelta(hours=hours_ago, minutes=5),
            finished_at=None
            if status == ImportStatus.RUNNING
            else now - timedelta(hours=hours_ago),
            **counts,
        )

    completed = imported("var/osv/npm-all.zip", ImportStatus.COMPLETED, 5, created=4)
    failed_with_changes = imported("var/osv/Go-all.zip", ImportStatus.FAILED, 3, updated=2)
    imported("var/osv/PyPI-all.zip", ImportStatus.FAILED, 2)  # stored nothing
    imported("var/osv/crates.io-all.zip", ImportStatus.RUNNING, 1)
    refreshed_at = database_status().imported_at
    assert refreshed_at == failed_with_changes.finished_at

    with migrated_back("certification", "0007_scan_finding_notified_per_recipient") as migrator:
        rows = migrator.old_model("AdvisoryImport").objects.order_by("-finished_at")
        kept = list(rows.values_list("pk", "finished_at"))

    assert kept == [
        (failed_with_changes.pk, failed_with_changes.finished_at),
        (completed.pk, completed.finished_at),
    ]
    # What the code of that release reads as the last refresh is what today's reads.
    assert kept[0][1] == refreshed_at
