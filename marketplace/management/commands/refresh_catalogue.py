"""manage.py refresh_catalogue: rebuild every agent's catalogue listing (after upgrades, or
after rows were changed outside the actions that keep listings current)."""

from django.core.management.base import BaseCommand

from marketplace.catalogue import refresh_listing
from marketplace.models import Agent


class Command(BaseCommand):
    help = "Rebuild the catalogue listing of every agent."

    def handle(self, *args, **options):
        listed = 0
        for agent in Agent.objects.select_related("tenant").iterator():
            listed += refresh_listing(agent) is not None
        self.stdout.write(f"{listed} agents listed.")
