# Versions sort in SQL by a precedence key (marketplace.versioning.precedence_key).

from django.db import migrations, models

from marketplace.versioning import precedence_key


def fill_precedence(apps, schema_editor):
    AgentVersion = apps.get_model("marketplace", "AgentVersion")
    versions = list(AgentVersion.objects.only("pk", "version"))
    for version in versions:
        version.precedence = precedence_key(version.version)
    AgentVersion.objects.bulk_update(versions, ["precedence"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0006_catalogue_listing"),
    ]

    operations = [
        migrations.AddField(
            model_name="agentversion",
            name="precedence",
            field=models.CharField(
                default="",
                editable=False,
                help_text="digits that sort like the version's SemVer precedence (set on save)",
                max_length=512,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill_precedence, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="agentversion",
            index=models.Index(fields=["agent", "precedence"], name="version_precedence_per_agent"),
        ),
    ]
