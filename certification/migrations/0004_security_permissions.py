"""Reviewers read the advisory database and re-scan findings; platform admins tune the policy."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "reviewers": [
        "view_advisory",
        "view_advisoryimport",
        "view_scanfinding",
        "view_securitypolicyoverride",
    ],
    "platform-admins": [
        "view_advisory",
        "view_advisoryimport",
        "view_scanfinding",
        "view_securitypolicyoverride",
        "add_securitypolicyoverride",
        "change_securitypolicyoverride",
        "delete_securitypolicyoverride",
    ],
}


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; this migration needs them now.
    app_config = apps.get_app_config("certification")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="certification", codename__in=codenames
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GRANTS.items():
        group = Group.objects.filter(name=group_name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label="certification", codename__in=codenames
                )
            )


class Migration(migrations.Migration):
    dependencies = [("certification", "0003_vulnerability_database")]
    operations = [migrations.RunPython(grant, revoke)]
