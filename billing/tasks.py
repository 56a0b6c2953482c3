"""Celery tasks of billing (the worker imports this module): thin doors onto billing's
actions. Each feature keeps its tasks beside it; importing them here registers them."""

from billing.documents import tasks as _documents_tasks  # noqa: F401 - registers its task
