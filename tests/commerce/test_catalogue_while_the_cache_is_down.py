"""Redis, the cache, cannot be reached (edgeplug/core/cache_outage.py): customers still browse
and buy and vendors still work, with the catalogue read from the database and the throttles
letting requests through; each place says so in the log. ``/ready`` names the cache.

The cache here is a Redis URL on a loopback port that refuses connections (bound, never
listening), whatever cache the rest of the suite uses."""

import logging
import socket

import pytest

from tests.commerce.conftest import buy_free, catalogue

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        settings.CACHES = {
            "default": {
                "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{refusing.getsockname()[1]}/0",
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
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
    with django_capture_on_commit_callbacks(execute=True):  # forgets the cached catalogue
        yanked = vendor.client.post(
            f"/api/v1/agents/{agent.pk}/versions/1.0.0/yank", {"reason": "bad"}, format="json"
        )
    assert yanked.status_code == 200, yanked.json()
    assert catalogue(api) == []  # its only version yanked: off the catalogue at once
    assert api.get(f"/api/v1/agents/{agent.pk}").status_code == 404

    said = {
        record.getMessage().split(", going on")[0]
        for record in caplog.records
        if record.name == "edgeplug.core.cache_outage"
    }
    assert said == {
        "cache unavailable while counting a request against the anon throttle",
        "cache unavailable while counting a request against the user throttle",
        "cache unavailable while counting a request against the tenant throttle",
        "cache unavailable while reading the cached catalogue",
        "cache unavailable while forgetting the cached catalogue",
    }
    ready = api.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["cache"] == "unavailable (ConnectionError)"
