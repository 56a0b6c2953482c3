"""The cache (Redis on the full stack) speeds things up and keeps the throttles' counts; it
holds nothing that is not also elsewhere. So a cache that cannot be reached fails no request:
each place that uses it catches ``CacheError`` and calls ``going_on_without``, then goes on
without the cache (a throttle lets the request through, the catalogue is read from the
database). ``/ready`` names the cache as unavailable and the pod stays in service, ``degraded``
(docs/scaling.md, *Redis*). A cache that answers slowly counts as unreachable after
``CACHE_TIMEOUT_S``.

An outage is a cache that cannot serve: no connection (refused, lost, still loading its data,
refusing our password), no answer in time, or a Redis that answers every command, or every
write, with an error about itself (busy in a script, a replica cut off from its master or
read-only after a failover, out of memory, unable to save its snapshot, a primary that has
lost the replicas it must write to). Any other Redis error is a defect (a broken script, a
key of the wrong type): ``going_on_without`` raises it again, and the request fails loudly,
rather than the throttles letting every request through with only a warning in the log."""

import logging

from redis.exceptions import (
    ConnectionError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TimeoutError,
    TryAgainError,
)

logger = logging.getLogger(__name__)

__all__ = ["CacheError", "going_on_without", "is_outage"]

CacheError = RedisError
_OUTAGES = (
    ConnectionError,
    TimeoutError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    TryAgainError,
)
# The error codes of a Redis in trouble that redis-py has no class for: "BUSY Redis is busy
# running a script", "MISCONF ... unable to persist to disk", "NOREPLICAS Not enough good
# replicas to write" (the last two refuse writes, the throttles' scripts included).
_OUTAGE_CODES = frozenset({"BUSY", "MISCONF", "NOREPLICAS"})


def is_outage(exc: RedisError) -> bool:
    """Whether ``exc`` says the cache cannot serve now, rather than that a command is wrong."""
    if isinstance(exc, _OUTAGES):
        return True
    return isinstance(exc, ResponseError) and str(exc).split(" ", 1)[0] in _OUTAGE_CODES


def going_on_without(doing: str, exc: RedisError) -> None:
    """Log that the cache failed while ``doing`` and that the request goes on without it; or,
    when ``exc`` is no outage but a defect, raise it again. Call it in the ``except``."""
    if not is_outage(exc):
        raise exc
    logger.warning("cache unavailable while %s, going on without it: %r", doing, exc)
