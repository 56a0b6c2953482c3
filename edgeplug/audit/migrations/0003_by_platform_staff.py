"""Audit events record whether their actor acted as EdgePlug's platform staff on the event's
tenant (staff, not its member) as they are written. Events written before know nothing of who
was staff then: they are marked by who is staff now and not a member of the tenant, the best
knowledge there is (docs/roles.md). On PostgreSQL the append-only trigger is set aside for
that one UPDATE."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Exists, OuterRef, Q

# The staff groups (tenancy.models.StaffGroup) as this migration was written.
STAFF_GROUPS = ["reviewers", "finance", "platform-admins"]
TRIGGER = "audit_auditevent_append_only"


def mark_events_by_staff(apps, schema_editor, since=None):
    """Mark the events not marked yet (of ``since`` or later, when given)."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Membership = apps.get_model("tenancy", "Membership")
    in_staff_group = User.groups.through.objects.filter(
        user=OuterRef("pk"), group__name__in=STAFF_GROUPS
    )
    staff = User.objects.filter(
        Q(is_staff=True) | Q(is_superuser=True) | Exists(in_staff_group), pk=OuterRef("actor")
    )
    member = Membership.objects.filter(user=OuterRef("actor"), tenant=OuterRef("tenant"))
    by_staff = AuditEvent.objects.filter(
        Exists(staff), ~Exists(member), tenant__isnull=False, by_platform_staff=False
    )
    if since is not None:
        by_staff = by_staff.filter(created_at__gte=since)
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        schema_editor.execute(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {TRIGGER}")
    by_staff.update(by_platform_staff=True)
    if postgresql:
        schema_editor.execute(f"ALTER TABLE audit_auditevent ENABLE TRIGGER {TRIGGER}")


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_append_only_trigger'),
        ('tenancy', '0002_staff_groups'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='by_platform_staff',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(mark_events_by_staff, migrations.RunPython.noop),
    ]
