"""Django's ``loaddata``, its transaction marked as loading data on PostgreSQL
(``edgeplug.loading_data``, local to the transaction), so the trigger that freezes a
finalized invoice's lines lets the load insert them after their invoice (billing migration
0027; docs/operations.md, moving from SQLite to PostgreSQL). Everything else is Django's."""

from django.core.management.commands import loaddata
from django.db import connections, transaction

LOADING = "edgeplug.loading_data"


class Command(loaddata.Command):
    def handle(self, *fixture_labels, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(*fixture_labels, **options)
        with transaction.atomic(using=options["database"]):
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [LOADING])
            return super().handle(*fixture_labels, **options)
