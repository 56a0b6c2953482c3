"""Periodic account housekeeping."""

from celery import shared_task
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


@shared_task(name="edgeplug.accounts.tasks.flush_expired_tokens")
def flush_expired_tokens() -> int:
    """Delete refresh tokens (and their blacklist entries) that have expired anyway."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
