"""Registry, browse, purchases, entitlements, devices."""

from django.apps import AppConfig
from django.db.backends.signals import connection_created

# pg_trgm's default word-similarity threshold (0.6) misses one-letter typos in longer words
# ("anomoly" vs "anomalies" is 0.5); the catalogue's %> operator uses this one.
TRIGRAM_WORD_THRESHOLD = 0.45


def _tune_trigram_search(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET pg_trgm.word_similarity_threshold = {TRIGRAM_WORD_THRESHOLD}")


class MarketplaceConfig(AppConfig):
    name = "marketplace"

    def ready(self) -> None:
        connection_created.connect(_tune_trigram_search, dispatch_uid="marketplace-trigram")
        from marketplace import catalogue  # noqa: F401 - connects its tenant_changed receiver
