"""Level thresholds become overrides: an empty field keeps the level's default
(``certification.pipeline.levels.DEFAULTS``).

A row used to store every threshold, the ones nobody set at the model's defaults (which were
not the basic level's: 200 Hypothesis examples where basic runs 100). Those values, still
equal to the old model default, are cleared so the level's default applies; a value an admin
changed is kept.

``stage_time_limit_s`` was never read (the limit is the Celery task's). It leaves the model
now but stays in the table, nullable, for one release: pods still running the previous
release select it during a rollout. A later migration drops the column.
"""

from django.db import migrations, models

OLD_MODEL_DEFAULTS = {
    "latency_gate_us": 500,
    "invariant_examples": 200,
    "model_cpu_seconds": 60,
    "model_wall_seconds": 20,
    "model_memory_mb": 1024,
    "certificate_validity_days": 365,
}


def clear_old_defaults(apps, schema_editor):
    LevelThresholds = apps.get_model("certification", "LevelThresholds")
    for field, value in OLD_MODEL_DEFAULTS.items():
        LevelThresholds.objects.filter(**{field: value}).update(**{field: None})


# Each threshold becomes an override, with what its admin form says beside it.
OVERRIDE_HELP = {
    "certificate_validity_days": "",
    "invariant_examples": "",
    "latency_gate_us": "never gates the basic level ",
    "model_cpu_seconds": "",
    "model_memory_mb": "",
    "model_wall_seconds": "wall-clock limit of one request to the model sandbox ",
}


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0004_security_permissions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="levelthresholds",
            name="stage_time_limit_s",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="levelthresholds", name="stage_time_limit_s"),
            ],
        ),
        *(
            migrations.AlterField(
                model_name="levelthresholds",
                name=name,
                field=models.PositiveIntegerField(
                    blank=True, help_text=f"{help_text}(empty: the level's default)", null=True
                ),
            )
            for name, help_text in OVERRIDE_HELP.items()
        ),
        migrations.RunPython(clear_old_defaults, migrations.RunPython.noop),
    ]
