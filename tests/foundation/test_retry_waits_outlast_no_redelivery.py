"""A task waiting for its retry is held by a live worker, unacknowledged, until its countdown
ends; the broker hands it out again once its visibility timeout has passed since delivery, and
the second copy runs too (a payment notice emailed twice). So every task that retries itself
waits less than that timeout between tries (docs/architecture.md, "When a worker dies")."""

from celery import current_app
from django.conf import settings


def longest_wait(task) -> float:
    """The longest countdown Celery's ``autoretry_for`` gives ``task`` (jitter only shortens)."""
    backoff = getattr(task, "retry_backoff", False)  # Celery's defaults where not given
    if not backoff:
        return task.default_retry_delay
    factor = 1 if backoff is True else backoff
    return min(getattr(task, "retry_backoff_max", 600), factor * 2 ** (task.max_retries - 1))


def test_no_task_waits_for_its_retry_past_the_visibility_timeout():
    current_app.loader.import_default_modules()
    waits = {
        name: longest_wait(task)
        for name, task in current_app.tasks.items()
        if getattr(task, "autoretry_for", ())
    }
    assert {"billing.tasks.send_payment_notice", "billing.tasks.email_invoice"} <= set(waits)
    too_long = {
        name: wait for name, wait in waits.items() if wait >= settings.CELERY_VISIBILITY_TIMEOUT_S
    }
    assert too_long == {}
