"""manage.py refresh_catalogue: rebuild every agent's catalogue listing (after upgrades, or
after rows were changed outside the actions that keep listings current)."""

from django.core.management.base import BaseCommand

from edgeplug.core.chunks import in_id_chunks
from marketplace.catalogue import refresh_listing
from marketplace.models import Agent

# Agents read at a time: each listing commits on its own, so no cursor is held across them.
CHUNK = 500


class Command(BaseCommand):
    help = "Rebuild the catalogue listing of every agent."

    def handle(self, *args, **options):
        listed = 0
        for chunk in in_id_chunks(Agent.objects.select_related("tenant"), CHUNK):
            listed += sum(refresh_listing(agent) is not None for agent in chunk)
        self.stdout.write(f"{listed} agents listed.")
