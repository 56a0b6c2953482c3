"""Liveness, readiness and metrics (including Celery task counts)."""

from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "edgeplug.health"
    label = "health"

    def ready(self) -> None:
        from edgeplug.health import metrics, metrics_access, task_signals  # noqa: F401
