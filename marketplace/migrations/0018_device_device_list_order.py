"""The device list's order within a tenant (name, id) as an index: a page reads its devices,
not the tenant's whole fleet sorted."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketplace', '0017_one_precedence_per_agent'),
        ('tenancy', '0004_retired_slug'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='device',
            index=models.Index(fields=['tenant', 'name', 'id'], name='device_list_order'),
        ),
    ]
