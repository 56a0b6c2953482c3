"""A tenant's audit trail in its order (newest first) as an index: a page reads the tenant's
events, not the platform's log walked back past every other tenant's. A plain index: the
append-only trigger (0002) refuses UPDATE and DELETE only."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_by_platform_staff'),
        ('tenancy', '0004_retired_slug'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['tenant', '-created_at', '-id'], name='audit_tenant_trail_order'),
        ),
    ]
