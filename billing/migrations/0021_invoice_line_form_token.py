"""An adjustment line records the one-time token of the admin form that added it
(``form_token``), one line per token and invoice: the same form sent twice (a double-click,
a page restored from the browser's history) adds one line, also when both sendings arrive
at once. Lines before it, and every line not added by that form, have none (NULL: not
compared). Nullable, so the previous release's inserts keep working during a rollout; going
back drops the constraint and the column."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0020_credit_note_applied_amount"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoiceline",
            name="form_token",
            field=models.UUIDField(
                blank=True,
                editable=False,
                help_text="an adjustment's: the one-time token of the admin form that added it",
                null=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="invoiceline",
            constraint=models.UniqueConstraint(
                fields=("invoice", "form_token"), name="one_line_per_adjustment_form"
            ),
        ),
    ]
