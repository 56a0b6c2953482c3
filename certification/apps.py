"""Certification pipeline, stages, results, reviews, platform signing keys."""

from django.apps import AppConfig


class CertificationConfig(AppConfig):
    name = "certification"

    def ready(self):
        from certification import checks  # noqa: F401  registers the system checks
