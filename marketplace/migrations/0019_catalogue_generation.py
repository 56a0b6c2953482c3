"""The cached catalogue's generation in the database, no longer in the cache beside the
answers it retires (a cache restored from a snapshot brought both back)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketplace', '0018_device_device_list_order'),
    ]

    operations = [
        migrations.CreateModel(
            name='CatalogueGeneration',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('generation', models.CharField(max_length=32)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='one_catalogue_generation')],
            },
        ),
    ]
