"""An advisory import is recorded from its start: ``status`` (running, completed, failed), the
error a failed one stopped on, and no ``finished_at`` while it runs.

An import used to be recorded only once it had completed, so the rows already there are
completed ones, which the database default says; it also keeps the previous release's insert
(without these columns) valid during a rollout.
"""

from django.db import migrations, models
from django.db.models import F


def end_running_imports(apps, schema_editor):
    """Backwards, every row is a completed import again, the last of which says when the
    database was refreshed (``database_status``). So the rows that record no refresh go: an
    import still running (or whose process died) and a failed one that stored nothing, which
    ``database_status`` does not count today either. A failed import that stored advisories
    did refresh them and stays, its ``finished_at`` when it stopped. Their story stays in the
    audit log (``advisories_imported`` with ``status: failed``)."""
    AdvisoryImport = apps.get_model("certification", "AdvisoryImport")
    AdvisoryImport.objects.filter(status="running").delete()
    AdvisoryImport.objects.filter(status="failed", created=0, updated=0).delete()
    AdvisoryImport.objects.filter(finished_at__isnull=True).update(finished_at=F("started_at"))


class Migration(migrations.Migration):
    dependencies = [("certification", "0007_scan_finding_notified_per_recipient")]

    operations = [
        migrations.AddField(
            model_name="advisoryimport",
            name="status",
            field=models.CharField(
                choices=[("running", "Running"), ("completed", "Completed"), ("failed", "Failed")],
                db_default="completed",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="advisoryimport",
            name="error_code",
            field=models.CharField(blank=True, db_default="", max_length=64),
        ),
        migrations.AddField(
            model_name="advisoryimport",
            name="error_detail",
            field=models.TextField(blank=True, db_default=""),
        ),
        migrations.AlterField(
            model_name="advisoryimport",
            name="finished_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(migrations.RunPython.noop, end_running_imports),
        migrations.AlterModelOptions(
            name="advisoryimport", options={"ordering": ["-started_at", "-id"]}
        ),
    ]
