"""A Prometheus collector for usage ingestion: how many devices have sequence gaps."""

from prometheus_client.core import REGISTRY, GaugeMetricFamily

from edgeplug.health.metrics import DatabaseCollector


class UsageGapsCollector(DatabaseCollector):
    def family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "edgeplug_usage_devices_with_gaps",
            "Devices with usage sequence numbers not received yet below their highest one",
        )

    def samples(self):
        from billing.usage import devices_with_gaps

        yield [], devices_with_gaps()


REGISTRY.register(UsageGapsCollector())
