"""An agent holds one version of each SemVer precedence: build metadata (after "+") does not
make another version (SemVer 2.0 §10), and the registry orders versions by precedence. Before
this, 1.0.0+build.7 with other bytes was taken beside 1.0.0, a second 1.0.0 that became the
newest by upload time.

Versions that already share a precedence within an agent stop the migration, named, before
the constraint is added: which one stays is a person's decision (the one customers know,
usually the first uploaded), not a migration's. Nothing is changed then. Going back drops the
constraint."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef

from edgeplug.migration_refusals import named_rows


class TwinVersions(RuntimeError):
    """Versions of one agent share a SemVer precedence: the constraint cannot be added."""


def _refuse_twin_versions(apps, schema_editor):
    AgentVersion = apps.get_model("marketplace", "AgentVersion")
    twin = AgentVersion.objects.filter(
        agent=OuterRef("agent"), precedence=OuterRef("precedence")
    ).exclude(pk=OuterRef("pk"))
    twins = (
        AgentVersion.objects.filter(Exists(twin))
        .select_related("agent", "tenant")
        .order_by("agent_id", "precedence", "created_at", "pk")
    )
    total, listed = named_rows(
        twins,
        lambda v: f"{v.tenant.slug}/{v.agent.name} {v.version} (id {v.pk}, uploaded "
        f"{v.created_at:%Y-%m-%d %H:%M} UTC)",
    )
    if not total:
        return
    raise TwinVersions(
        "marketplace 0017_one_precedence_per_agent cannot be applied: an agent holds one "
        "version of each SemVer precedence (build metadata, after “+”, does not make another "
        f"version: docs/package-format.md), and {total} versions share theirs with another "
        f"version of the same agent: {listed} (find them all with SELECT a.id, a.agent_id, "
        "a.version, a.created_at FROM marketplace_agentversion a WHERE EXISTS (SELECT 1 FROM "
        "marketplace_agentversion b WHERE b.agent_id = a.agent_id AND b.precedence = "
        "a.precedence AND b.id <> a.id)). For each agent and precedence, decide which version "
        "is the agent's (the one customers know, usually the first uploaded) and remove the "
        "others, with what refers to them, then migrate again. Nothing was changed."
    )


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0016_vendor_keys_order_ties_by_id"),
    ]

    operations = [
        migrations.RunPython(_refuse_twin_versions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="agentversion",
            constraint=models.UniqueConstraint(
                fields=("agent", "precedence"), name="one_precedence_per_agent"
            ),
        ),
    ]
