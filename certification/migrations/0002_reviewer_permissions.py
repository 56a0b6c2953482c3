"""Reviewers read runs, results and certificates; platform admins tune level thresholds."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "reviewers": ["view_certificationrun", "view_certificationresult", "view_certificate",
                  "view_levelthresholds"],
    "platform-admins": ["view_certificationrun", "view_certificationresult", "view_certificate",
                        "view_levelthresholds", "change_levelthresholds",
                        "add_levelthresholds"],
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
        group.permissions.add(*Permission.objects.filter(
            content_type__app_label="certification", codename__in=codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=GRANTS):
        group.permissions.remove(*group.permissions.filter(
            content_type__app_label="certification"))


class Migration(migrations.Migration):
    dependencies = [("certification", "0001_initial"), ("tenancy", "0002_staff_groups")]
    operations = [migrations.RunPython(grant, revoke)]
