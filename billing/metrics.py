"""A Prometheus collector for usage ingestion: how many devices have sequence gaps."""

from django.db import DatabaseError
from prometheus_client.core import REGISTRY, GaugeMetricFamily


class UsageGapsCollector:
    def describe(self):
        # Lets the registry learn the metric name without a database query at import time.
        return [self._family()]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "edgeplug_usage_devices_with_gaps",
            "Devices with usage sequence numbers not received yet below their highest one",
        )

    def collect(self):
        from billing.usage import devices_with_gaps

        family = self._family()
        try:
            family.add_metric([], devices_with_gaps())
        except DatabaseError:
            return  # before migrations, or database down: /ready reports that
        yield family


REGISTRY.register(UsageGapsCollector())
