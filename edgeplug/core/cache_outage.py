"""The cache (Redis on the full stack) speeds things up and keeps the throttles' counts; it
holds nothing that is not also elsewhere. So a cache that cannot be reached fails no request:
each place that uses it catches ``CacheDown``, goes on without the cache (a throttle lets the
request through, the catalogue is read from the database) and calls ``going_on_without``.
``/ready`` still reports the cache as unavailable (docs/scaling.md, *Redis*). A cache that
answers slowly counts as unreachable after ``CACHE_TIMEOUT_S``.

``CacheDown`` is what an outage raises, and only that: no connection (refused, lost, still
loading its data, refused our password), no answer in time, or a Redis that cannot take writes
(a replica after a failover, out of memory). Any other Redis error is a defect (a broken
script, a key of the wrong type) and fails the request loudly: caught here, it would switch
the throttles off with only a warning in the log."""

import logging

from redis.exceptions import ConnectionError, OutOfMemoryError, ReadOnlyError, TimeoutError

CacheDown = (ConnectionError, TimeoutError, ReadOnlyError, OutOfMemoryError)

logger = logging.getLogger(__name__)

__all__ = ["CacheDown", "going_on_without"]


def going_on_without(doing: str, exc: Exception) -> None:
    """Log that the cache failed while ``doing``, and that the request goes on without it."""
    logger.warning("cache unavailable while %s, going on without it: %r", doing, exc)
