"""The public catalogue (the agent list and detail as customers see them), cached.

Browsing is read-mostly, and what customers see changes only through a few actions: a version
approved or rejected, certified again, yanked; an agent deleted or its card refreshed; its
vendor changed in the admin (``tenant_changed``). Each of them calls ``invalidate_catalogue()``.
Entries carry the catalogue *generation* they were computed under; invalidation replaces the
generation when the action's transaction commits, so no entry computed before that is served
again (a stale listing is a bug, not a trade-off). The generation is a row in the database
(``CatalogueGeneration``), read by its key before every answer: not a key in the cache beside
the entries, which a cache restarted from an older snapshot brought back with them, and which
a change made while the cache was out of reach could not replace.
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
from marketplace.models import CatalogueGeneration
from marketplace.visibility import sees_public_catalogue


def invalidate_catalogue() -> None:
    """Forget every cached catalogue response once the current transaction commits (at once
    outside a transaction): a new generation in the database. The cache is not asked, so a
    cache out of reach meanwhile, or restarted since from an older snapshot, holds no answer
    of the generation served from then on. ``robust``: should the database fail just after
    the action committed, that is logged and the action's answer stands."""
    transaction.on_commit(_start_generation, robust=True)


def _start_generation() -> None:
    CatalogueGeneration.objects.bulk_create(
        [CatalogueGeneration(generation=uuid.uuid4().hex)],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["generation"],
    )


def _current_generation() -> str:
    """The generation in the database; the empty one until a change first starts one (nothing
    cached before that was retired)."""
    stored = CatalogueGeneration.objects.filter(pk=1).values_list("generation", flat=True)
    return stored.first() or ""


def cached_catalogue_response(request, respond: Callable[[], Response]) -> HttpResponseBase:
    """``respond()``'s response, from the cache when the caller sees the public catalogue.

    JSON responses are cached rendered, so a hit costs one cache read, the generation's row
    read by its key, and no serializing.
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
    generation = _current_generation()
    try:
        entry = cache.get(key)
    except CacheError as exc:
        going_on_without("reading the cached catalogue", exc)
        return respond()
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
