"""Periodic account housekeeping."""

from celery import shared_task
from django.core.management import call_command
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


@shared_task(name="edgeplug.accounts.tasks.flush_expired_tokens")
def flush_expired_tokens() -> int:
    """Delete refresh tokens (and their blacklist entries) that have expired anyway."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


@shared_task(name="edgeplug.accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Delete browser sessions past their expiry date with Django's ``clearsessions``.

    A person who closes the tab without signing out leaves a session row that Django never
    removes by itself.
    """
    call_command("clearsessions")
