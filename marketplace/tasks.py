"""Periodic marketplace jobs (Celery beat)."""

from celery import shared_task

from marketplace import orders


@shared_task(acks_late=True)
def expire_entitlements() -> int:
    return orders.expire_entitlements()
