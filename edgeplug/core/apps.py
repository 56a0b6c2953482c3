"""Cross-cutting API plumbing: errors, parsing, pagination, throttling, request ids."""

from django.apps import AppConfig
from django.db.backends.signals import connection_created

from edgeplug.core import reconnect


class CoreConfig(AppConfig):
    name = "edgeplug.core"
    label = "core"

    def ready(self) -> None:
        connection_created.connect(reconnect.watch_writes, dispatch_uid="edgeplug-watch-writes")
        from edgeplug.core import api_request_order

        api_request_order.install()
        # Creating the Celery app here (not in edgeplug/__init__.py) keeps the vendor CLI,
        # which imports edgeplug.signing, free of Celery and Django.
        from edgeplug.celery import app  # noqa: F401
