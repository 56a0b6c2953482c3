"""What the mail server answered when it refused a re-scan's mail for good (to a vendor, to the
reviewers): such a mail is kept so, not retried. Empty by default in the database too, so the
previous release's re-scans, which do not name the columns, still insert their findings."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('certification', '0014_result_findings_summary_db_default'),
    ]

    operations = [
        migrations.AddField(
            model_name='scanfinding',
            name='reviewers_refusal',
            field=models.TextField(blank=True, db_default='', default=''),
        ),
        migrations.AddField(
            model_name='scanfinding',
            name='vendor_refusal',
            field=models.TextField(blank=True, db_default='', default=''),
        ),
    ]
