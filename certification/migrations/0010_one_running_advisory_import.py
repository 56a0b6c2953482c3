"""One advisory import runs at a time: the database holds at most one ``running`` import, so
a second run is refused (``import_already_running``) instead of racing the first on the same
new advisories.

Two runs may already be ``running`` side by side (the previous release let them): all but
the one that progressed last are closed as failed first, ending at their last progress, with
what they committed kept, as the stall sweep closes a dead run (not audited nor re-scanned
here: run the import again, which re-scans what it changes).
"""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Coalesce

CLOSED_DETAIL = (
    "closed when imports became one at a time: another import was running beside it. What it "
    "committed stays; run the import again."
)


def close_all_but_one_running_import(apps, schema_editor):
    AdvisoryImport = apps.get_model("certification", "AdvisoryImport")
    running = AdvisoryImport.objects.filter(status="running").annotate(
        progress=Coalesce("last_progress_at", "started_at")
    )
    latest = running.order_by("-progress", "-pk").first()
    if latest is None:
        return
    running.exclude(pk=latest.pk).update(
        status="failed",
        finished_at=Coalesce(F("last_progress_at"), F("started_at")),
        error_code="import_already_running",
        error_detail=CLOSED_DETAIL,
    )


class Migration(migrations.Migration):
    dependencies = [("certification", "0009_advisory_import_progress")]

    operations = [
        migrations.RunPython(close_all_but_one_running_import, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="advisoryimport",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "running")),
                fields=("status",),
                name="one_running_advisory_import",
            ),
        ),
    ]
