"""An advisory import records when it last committed a batch, so a run whose process died
(still ``running``) is closed as ``import_stalled`` once it has made no progress for
``OSV_IMPORT_STALL_TIMEOUT_S``.

Empty on the rows already there (and on those the previous release inserts during a
rollout): their start stands for it.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("certification", "0008_advisory_import_status")]

    operations = [
        migrations.AddField(
            model_name="advisoryimport",
            name="last_progress_at",
            field=models.DateTimeField(
                blank=True, help_text="when the run last committed a batch", null=True
            ),
        ),
    ]
