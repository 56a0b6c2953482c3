"""Prometheus collectors read from the database at scrape time, and the one exposing the
shared Celery task counters on /metrics."""

from collections.abc import Iterable

from django.db import DatabaseError
from prometheus_client.core import REGISTRY, CounterMetricFamily, Metric


class DatabaseCollector:
    """One metric family whose samples a subclass reads from the database; when the database
    cannot answer (before migrations, or down: /ready reports that) the family is left out."""

    def family(self) -> Metric:
        raise NotImplementedError

    def samples(self) -> Iterable[tuple[list[str], float]]:
        """(label values, value) pairs."""
        raise NotImplementedError

    def describe(self):
        # Lets the registry learn the metric name without a database query at import time.
        return [self.family()]

    def collect(self):
        family = self.family()
        try:
            for labels, value in self.samples():
                family.add_metric(labels, value)
        except DatabaseError:
            return
        yield family


class CeleryTaskCollector(DatabaseCollector):
    def family(self) -> CounterMetricFamily:
        return CounterMetricFamily(
            "edgeplug_celery_tasks", "Celery tasks by name and state", labels=["task", "state"]
        )

    def samples(self):
        from edgeplug.health.models import TaskCounter

        for task, state, count in TaskCounter.objects.values_list("task", "state", "count"):
            yield [task, state], count


REGISTRY.register(CeleryTaskCollector())
