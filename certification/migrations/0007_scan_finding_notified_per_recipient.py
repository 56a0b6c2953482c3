"""A re-scan finding records its vendor's message and the reviewers' digest apart.

``notified_at`` was set once both had gone out, in one transaction with the mails, so a failed
digest rolled back the vendor's mark and the vendor was mailed again. It becomes
``vendor_notified_at`` (same column, so pods of the previous release keep working during a
rollout) and ``reviewers_notified_at`` is new; findings already announced were announced to
both, so they get it too.
"""

from django.db import migrations, models
from django.db.models import F


def mark_announced_to_reviewers(apps, schema_editor):
    ScanFinding = apps.get_model("certification", "ScanFinding")
    ScanFinding.objects.filter(vendor_notified_at__isnull=False).update(
        reviewers_notified_at=F("vendor_notified_at")
    )


class Migration(migrations.Migration):
    dependencies = [("certification", "0006_level_threshold_bounds")]

    operations = [
        # A new name for the same column: nothing to do in the database.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField("scanfinding", "notified_at", "vendor_notified_at"),
                migrations.AlterField(
                    model_name="scanfinding",
                    name="vendor_notified_at",
                    field=models.DateTimeField(blank=True, db_column="notified_at", null=True),
                ),
            ]
        ),
        migrations.AddField(
            model_name="scanfinding",
            name="reviewers_notified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_announced_to_reviewers, migrations.RunPython.noop),
    ]
