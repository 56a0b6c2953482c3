"""Usage, metering, pricing, invoices, payments."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing import (
            collection,  # noqa: F401 - connects its default_card_set receiver
            invoicing,  # noqa: F401 - connects its order_refunded receiver
            metrics,  # noqa: F401 - registers the usage collector
        )
