"""Slugs a tenant gave up in a rename are retired (``RetiredSlug``): its packages' manifests
and the certificates signed for them still name their vendor by it, so no other tenant may
take it. Before, a new tenant could take it and publish under it.

The renames made before are read back from the audit log (``tenant_changed``, each field's
``from`` and ``to``, since 2026-12-01), in order: the slug given up is retired, the tenant's
own, as of the rename; one a tenant took back is its again; one that a tenant holds now is
not retired (its unique key keeps it; it cannot be taken away from whoever took it). Going
back drops the table."""

from django.db import migrations, models


def _retire_slugs_given_up_before(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    Tenant = apps.get_model("tenancy", "Tenant")
    RetiredSlug = apps.get_model("tenancy", "RetiredSlug")
    retired: dict[str, tuple[int, object]] = {}  # slug -> (tenant id, when)
    renames = (
        AuditEvent.objects.filter(action="tenant_changed", tenant__isnull=False)
        .order_by("created_at", "pk")
        .values_list("tenant_id", "created_at", "details")
    )
    for tenant_id, when, details in renames.iterator():
        slug = (details.get("fields") or {}).get("slug") if isinstance(details, dict) else None
        if not isinstance(slug, dict):
            continue
        given_up, taken = slug.get("from"), slug.get("to")
        if retired.get(taken, (None,))[0] == tenant_id:
            del retired[taken]
        if isinstance(given_up, str) and given_up and given_up not in retired:
            retired[given_up] = (tenant_id, when)
    held = set(Tenant.objects.values_list("slug", flat=True))
    for slug, (tenant_id, when) in retired.items():
        if slug in held or len(slug) > 64:
            continue
        row = RetiredSlug.objects.create(slug=slug, tenant_id=tenant_id)
        RetiredSlug.objects.filter(pk=row.pk).update(retired_at=when)  # not the migration's


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_trigger"),
        ("tenancy", "0003_tenant_kind_message"),
    ]

    operations = [
        migrations.CreateModel(
            name="RetiredSlug",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slug", models.SlugField(max_length=64, unique=True)),
                ("retired_at", models.DateTimeField(auto_now_add=True)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE,
                        related_name="retired_slugs",
                        to="tenancy.tenant",
                    ),
                ),
            ],
            options={"ordering": ["slug"]},
        ),
        migrations.RunPython(_retire_slugs_given_up_before, migrations.RunPython.noop),
    ]
