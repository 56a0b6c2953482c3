"""Billing's tasks are queued by name (the actions do not import the Celery door): once the
caller's transaction commits (a task must never see rows that roll back), or at once where
the caller must hear that the broker refused it."""

from celery import signature
from django.db import transaction

from edgeplug.core.queueing import publish


def send_after_commit(task: str, *args, **kwargs) -> None:
    """Queue ``task`` with these arguments once the caller's transaction commits. A publish
    the broker refuses is logged by Django and stops no hook after it (the other invoices of
    a batch); the beat jobs catch up what it left undone."""
    transaction.on_commit(lambda: signature(task, args=args, kwargs=kwargs).delay(), robust=True)


def send_now(task: str, *args, what: str, **kwargs) -> None:
    """Queue ``task`` with these arguments now, for work that reads only what is committed
    already, before the caller's record that it asked for it commits. A publish the broker
    refuses raises ``BrokerUnavailable`` (``what`` names the work in its detail), so the
    caller's record rolls back and it says so: no beat job catches such work up."""
    publish(signature(task, args=args, kwargs=kwargs), what=what)
