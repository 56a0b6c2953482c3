"""Registry, browse, purchases, entitlements, devices."""

from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
