"""Audit 0003's marking once more, now that no code from before it runs. 0003 marked the events
written before it, but the previous release's pods served on while the new release rolled out
after it, and their events (that code did not know the column) all took its database default,
false: a reviewer's or finance's action on a tenant among them, and the tenant's trail showed
who it was and where from, which staff identities never are (docs/roles.md). Marked as 0003
marks (staff now, not a member of the event's tenant), by 0003's own function, but only the
events written since (a day before) 0003 was applied and not marked yet: the audit log is the largest table
and its inserts wait while the trigger is set aside, and the events 0003 judged keep its
verdict. A member who has since left the tenant and joined the staff, and whose events of it
date from the rollout, is hidden too: the trail hides one too many rather than show a staff
member."""

import importlib
from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder

_by_platform_staff = importlib.import_module("edgeplug.audit.migrations.0003_by_platform_staff")


ROLLOUT_MARGIN = timedelta(days=1)


def mark_events_since_0003(apps, schema_editor):
    applied = (
        MigrationRecorder(schema_editor.connection)
        .migration_qs.filter(app="audit", name="0003_by_platform_staff")
        .values_list("applied", flat=True)
        .first()
    )
    # A day before it was recorded applied: an old pod's insert waited behind 0003's ALTER
    # TABLE with its created_at stamped before the wait, and the pods' clocks differ.
    since = applied - ROLLOUT_MARGIN if applied is not None else None
    _by_platform_staff.mark_events_by_staff(apps, schema_editor, since=since)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_auditevent_audit_tenant_trail_order"),
        ("tenancy", "0004_retired_slug"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(mark_events_since_0003, migrations.RunPython.noop),
    ]
