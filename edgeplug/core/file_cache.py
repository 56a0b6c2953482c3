"""Removing the expired entries of a file-based cache (the embedded default's ``var/cache``).

Django's FileBasedCache deletes an expired entry's file only when its key is read again, or
culls a third of the files at random (throttle counters included) once ``MAX_ENTRIES`` are
there, and lists the whole folder on every write: each catalogue URL and throttle key ever
used stayed as a file, and every write slowed down as they piled up."""

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.filebased import FileBasedCache


def remove_expired_entries(cache: BaseCache) -> int:
    """Delete the files of ``cache``'s expired entries when it is file-based; how many."""
    if not isinstance(cache, FileBasedCache):
        return 0  # Redis, the local-memory cache …: they expire their entries themselves
    removed = 0
    # The cache's own reading of an entry: its expiry is pickled first, and _is_expired deletes
    # the file when it has passed, as a get() of the key does. Only the expiry is read.
    for name in cache._list_cache_files():
        try:
            with open(name, "rb") as entry:
                removed += cache._is_expired(entry)
        except FileNotFoundError:  # deleted meanwhile by a read, a cull or a clear
            continue
    return removed
