"""Migrating to one running import at a time (certification 0010): imports the previous
release left running side by side are closed, all but the one that progressed last, so the
constraint can hold; that one goes on running."""

from datetime import timedelta

import pytest
from django.utils import timezone

from certification.models import AdvisoryImport
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db(transaction=True)  # migrating needs no atomic around it


def test_imports_running_side_by_side_are_closed_but_the_latest():
    now = timezone.now()
    with migrated_back("certification", "0009_advisory_import_progress") as migrator:
        old = migrator.old_model("AdvisoryImport")
        dead = old.objects.create(
            path="var/osv/npm-all.zip",
            status="running",
            started_at=now - timedelta(hours=2),
            last_progress_at=now - timedelta(hours=1),
            created=3,
        )
        older_release = old.objects.create(
            path="var/osv/Go-all.zip", status="running", started_at=now - timedelta(hours=3)
        )
        latest = old.objects.create(
            path="var/osv/PyPI-all.zip",
            status="running",
            started_at=now - timedelta(minutes=5),
            last_progress_at=now,
        )
        migrator.forward("0010_one_running_advisory_import")

        rows = {
            row.pk: (row.status, row.error_code, row.finished_at, row.created)
            for row in AdvisoryImport.objects.all()
        }
        AdvisoryImport.objects.all().delete()

    assert rows == {
        dead.pk: ("failed", "import_already_running", now - timedelta(hours=1), 3),
        older_release.pk: ("failed", "import_already_running", now - timedelta(hours=3), 0),
        latest.pk: ("running", "", None, 0),
    }
