"""Billing's tasks are queued once the caller's transaction commits (a task must never see
rows that roll back), by name (the actions do not import the Celery door)."""

from celery import signature
from django.db import transaction


def send_after_commit(task: str, *args, robust: bool = True, **kwargs) -> None:
    """Queue ``task`` with these arguments once the caller's transaction commits. Robust by
    default: a publish the broker refuses is logged by Django and stops no hook after it
    (the other invoices of a batch); the beat jobs catch up what it left undone. Not robust
    where the caller must hear of the failure (finance's resend)."""
    transaction.on_commit(lambda: signature(task, args=args, kwargs=kwargs).delay(), robust=robust)
