"""A database default ({}) for a result's findings summary: 0013 added the column NOT NULL
without one, so the previous release's certification workers, still recording stages while the
new release rolled out, failed inserting their results (which do not name it) and their runs
ended in error. Only a column default changes; no row is touched."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('certification', '0013_result_findings_summary'),
    ]

    operations = [
        migrations.AlterField(
            model_name='certificationresult',
            name='findings_summary',
            field=models.JSONField(blank=True, db_default={}, default=dict),
        ),
    ]
