"""A Prometheus collector exposing the shared Celery task counters on /metrics."""

from django.db import DatabaseError
from prometheus_client.core import REGISTRY, CounterMetricFamily


class CeleryTaskCollector:
    def describe(self):
        # Lets the registry learn the metric name without a database query at import time.
        return [self._family()]

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily(
            "edgeplug_celery_tasks", "Celery tasks by name and state", labels=["task", "state"]
        )

    def collect(self):
        from edgeplug.health.models import TaskCounter

        family = self._family()
        try:
            for row in TaskCounter.objects.all().values_list("task", "state", "count"):
                family.add_metric([row[0], row[1]], row[2])
        except DatabaseError:
            pass  # before migrations, or database down: /ready reports that
        yield family


REGISTRY.register(CeleryTaskCollector())
