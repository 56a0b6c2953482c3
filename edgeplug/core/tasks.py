"""Periodic housekeeping of what every app shares: the cache."""

from celery import shared_task
from django.conf import settings
from django.core.cache import caches

from edgeplug.core import file_cache


@shared_task(name="edgeplug.core.tasks.remove_expired_cache_entries")
def remove_expired_cache_entries() -> int:
    """Delete the expired entries of each file-based cache (nothing to do on Redis)."""
    return sum(file_cache.remove_expired_entries(caches[alias]) for alias in settings.CACHES)
