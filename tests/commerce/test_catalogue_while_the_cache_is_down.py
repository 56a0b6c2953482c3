"""Redis, the cache, cannot be reached (edgeplug/core/cache_outage.py): customers still browse
and buy and vendors still work, with the catalogue read from the database and the throttles
letting requests through; each place says so in the log. ``/ready`` names the cache and
keeps the pod in service (``degraded``).

The cache here is the suite's Redis cache configuration (``CACHES``, with its
``CACHE_TIMEOUT_S``) moved to a loopback port that refuses connections, or that takes them
and never answers."""

import logging

import pytest

from tests.commerce.conftest import (
    buy_free,
    catalogue,
    outage_log,
    redis_cache_at,
    require_redis_cache,
)
from tests.network import refusing_port, silent_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    with refusing_port() as port:
        redis_cache_at(settings, f"redis://127.0.0.1:{port}/0")
        yield


@pytest.fixture
def cache_silent(settings):
    with silent_port() as port:
        redis_cache_at(settings, f"redis://127.0.0.1:{port}/0")
        yield


def test_the_api_goes_on_without_its_cache_and_says_so(
    cache_down,
    api,
    customer,
    vendor,
    agent,
    published,
    certificate,
    make_plan,
    django_capture_on_commit_callbacks,
    caplog,
):
    client, _ = customer
    caplog.set_level(logging.WARNING, logger="edgeplug.core.cache_outage")

    assert catalogue(api) == [agent.pk]  # anonymous: the anon throttle, the catalogue cache
    assert catalogue(client) == [agent.pk]  # signed in: the user and tenant throttles too
    assert buy_free(client, agent, make_plan)["status"] == "completed"
    # Forgets the cached catalogue: a new generation in the database, not in the cache.
    with django_capture_on_commit_callbacks(execute=True):
        yanked = vendor.client.post(
            f"/api/v1/agents/{agent.pk}/versions/1.0.0/yank", {"reason": "bad"}, format="json"
        )
    assert yanked.status_code == 200, yanked.json()
    assert catalogue(api) == []  # its only version yanked: off the catalogue at once
    assert api.get(f"/api/v1/agents/{agent.pk}").status_code == 404

    assert outage_log(caplog) == {
        "cache unavailable while counting a request against the anon throttle",
        "cache unavailable while counting a request against the user throttle",
        "cache unavailable while counting a request against the tenant throttle",
        "cache unavailable while reading the cached catalogue",
    }
    ready = api.get("/ready")  # still in service: nothing above needed the cache
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["cache"] == "unavailable (ConnectionError)"


# The guard: redis-py's own 5 s (django-redis ignores lower-case timeout OPTIONS) would keep
# this request about 15 s, at its three cache calls; CACHE_TIMEOUT_S (1 s) keeps it about 3 s.
@pytest.mark.timeout(8, func_only=True)
def test_a_cache_that_never_answers_costs_a_request_its_timeout_at_each_call(
    cache_silent, api, agent, published, certificate, caplog
):
    caplog.set_level(logging.WARNING, logger="edgeplug.core.cache_outage")

    assert catalogue(api) == [agent.pk]

    assert [record.getMessage().split(", going on")[0] for record in caplog.records] == [
        "cache unavailable while counting a request against the anon throttle",
        "cache unavailable while counting a request against the user throttle",
        "cache unavailable while reading the cached catalogue",
    ]


def test_a_cache_error_that_is_not_an_outage_fails_the_request(settings, api, caplog):
    """A Redis that answers with an error (here: the throttle's key holds a string, so its
    script fails with WRONGTYPE) is a defect to see, not an outage to ride out: the throttle
    does not let requests through uncounted with only a warning."""
    from django.core.cache import cache

    require_redis_cache(settings)
    caplog.set_level(logging.WARNING, logger="edgeplug.core.cache_outage")
    window = cache.make_key("throttle_anon_127.0.0.1:window")
    cache.client.get_client(write=True).set(window, "not a sorted set")
    api.raise_request_exception = False

    answered = api.get("/api/v1/agents")

    assert answered.status_code == 500
    assert outage_log(caplog) == set()
