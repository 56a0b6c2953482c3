"""Cross-cutting API plumbing: errors, parsing, pagination, throttling, request ids."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "edgeplug.core"
    label = "core"

    def ready(self) -> None:
        # Creating the Celery app here (not in edgeplug/__init__.py) keeps the vendor CLI,
        # which imports edgeplug.signing, free of Celery and Django.
        from edgeplug.celery import app  # noqa: F401
