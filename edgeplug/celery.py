"""The Celery application: configuration comes from Django settings (CELERY_* names), and its
processes (worker, beat) log as the web processes do."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edgeplug.settings")

app = Celery("edgeplug")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.set_default()


@setup_logging.connect
def _project_logging(**_celery_options) -> None:
    """Django's logging (``settings.LOGGING``: JSON lines with the request id, at
    ``LOG_LEVEL``) instead of Celery's own: with a receiver of this signal Celery leaves the
    root logger, its handlers and ``sys.stdout`` alone, and reads no ``--loglevel``."""
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
