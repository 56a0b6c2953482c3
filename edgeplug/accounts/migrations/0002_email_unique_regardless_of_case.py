"""An email is unique regardless of case: stored emails are stripped and lowercased (as every
door now saves them) and a unique index on LOWER(email) refuses a second spelling.

Before, the admin could save ``Bob@x.com`` beside ``bob@x.com``. Two such rows are two
people's accounts or one person's twice: which to keep is an operator's decision, so this
migration stops and names them rather than merging or renaming either."""

import django.db.models.functions.text
from django.db import migrations, models


def _normalise_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    users = User.objects.using(schema_editor.connection.alias)
    spellings: dict[str, list[str]] = {}
    for email in users.values_list("email", flat=True):
        spellings.setdefault(email.strip().lower(), []).append(email)
    clashes = sorted(sorted(group) for group in spellings.values() if len(group) > 1)
    if clashes:
        listed = "; ".join(", ".join(group) for group in clashes)
        raise RuntimeError(
            "accounts 0002: these users' emails differ only in case or surrounding blanks, "
            f"so they cannot be made unique regardless of case: {listed}. Change or delete "
            "all but one of each group (manage.py shell or the admin), then migrate again."
        )
    for user in users.only("pk", "email"):
        normal = user.email.strip().lower()
        if normal != user.email:
            users.filter(pk=user.pk).update(email=normal)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(_normalise_emails, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("email"),
                name="user_email_unique_regardless_of_case",
                violation_error_message="A user with this email already exists.",
            ),
        ),
    ]
