"""The public catalogue (the agent list and detail as customers see them), cached.

Browsing is read-mostly, and what customers see changes only through a few actions: a version
approved or rejected, certified again, yanked; an agent deleted or its card refreshed; its
vendor changed in the admin (``tenant_changed``). Each of them calls ``invalidate_catalogue()``.
Entries carry the catalogue *generation* they were computed under; invalidation replaces the
generation when the action's transaction commits, so no entry computed before that is served
again (a stale listing is a bug, not a trade-off).
``CATALOGUE_CACHE_SECONDS`` bounds how long an unused entry stays; 0 turns the cache off.

A tenant that owns versions sees them too, published or not: its members' requests are
never served from here, nor stored (``sees_public_catalogue``, asked after the rows are read).
"""

import hashlib
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse, HttpResponseBase
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from certification.certificates.platform_keys import keyring
from edgeplug.core.cache_outage import CacheError, going_on_without
from marketplace.visibility import sees_public_catalogue

GENERATION_KEY = "catalogue:generation"


def invalidate_catalogue() -> None:
    """Forget every cached catalogue response once the current transaction commits (at once
    outside a transaction). With the cache unreachable the action that asked still succeeds
    (it has committed) and the failure is logged: a cache that lost its entries meanwhile
    has nothing stale; one that kept them (a network split) may serve them until they expire,
    ``CATALOGUE_CACHE_SECONDS`` after they were stored."""
    transaction.on_commit(_forget_everything)


def _forget_everything() -> None:
    try:
        _start_generation()
    except CacheError as exc:
        going_on_without("forgetting the cached catalogue", exc)


def _start_generation() -> str:
    generation = uuid.uuid4().hex
    cache.set(GENERATION_KEY, generation, timeout=None)
    return generation


def _current_generation(found: dict) -> str:
    generation = found.get(GENERATION_KEY)
    if generation is None:  # first use, or the cache was flushed
        candidate = uuid.uuid4().hex
        generation = candidate if cache.add(GENERATION_KEY, candidate, timeout=None) else None
        generation = generation or cache.get(GENERATION_KEY) or _start_generation()
    return generation


def cached_catalogue_response(request, respond: Callable[[], Response]) -> HttpResponseBase:
    """``respond()``'s response, from the cache when the caller sees the public catalogue.

    JSON responses are cached rendered, so a hit costs one cache read and no serializing.
    The key is the absolute URL (filters, ordering, page and the host of pagination links),
    the media type and the platform keys that vouch. The generation is read before the
    database is, so an entry computed from rows that an action is about to change is stored
    under the generation it retires.
    Whether the caller sees the public catalogue is asked once: before a hit is served, or
    after ``respond()`` read the rows of a miss, so a first version its tenant uploads
    meanwhile is seen and what it read of it is not stored for everyone.
    """
    timeout = settings.CATALOGUE_CACHE_SECONDS
    renderer = getattr(request, "accepted_renderer", None)
    if (
        request.method != "GET"
        or timeout <= 0
        or not isinstance(renderer, JSONRenderer)  # the browsable API is for people
    ):
        return respond()
    media_type = request.accepted_media_type
    # Which platform keys vouch decides which certificates an answer shows: a key revoked or
    # withdrawn from the key ring (configuration) makes every entry computed before a miss.
    keys = ",".join(sorted(keyring().vouching_key_ids()))
    url = f"{media_type} {keys} {request.build_absolute_uri()}"
    key = "catalogue:" + hashlib.sha256(url.encode()).hexdigest()
    try:
        found = cache.get_many([GENERATION_KEY, key])
        generation = _current_generation(found)
    except CacheError as exc:
        going_on_without("reading the cached catalogue", exc)
        return respond()
    entry = found.get(key)
    if entry is not None and entry[0] == generation:
        if sees_public_catalogue(request):
            return HttpResponse(entry[1], content_type=renderer.media_type)
        return respond()
    response = respond()
    if response.status_code != 200 or not sees_public_catalogue(request):
        return response
    content = renderer.render(response.data, media_type, {"request": request})
    try:
        cache.set(key, (generation, content), timeout)
    except CacheError as exc:
        going_on_without("storing a catalogue answer", exc)
    return HttpResponse(content, content_type=renderer.media_type)
