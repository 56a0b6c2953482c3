"""Rates hold across web worker processes: the counters live in a cache they all share."""

import contextlib
import itertools
import os
import uuid

import pytest
import requests

from tests.gunicorn_server import database_url_for_test_db, gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LIMIT = 5


def _embedded(tmp_path) -> dict:
    # No REDIS_URL: the embedded default's cache, under its own var/.
    return {}


def _redis(tmp_path) -> dict:
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: the full-stack cache has no server to use")
    return {"REDIS_URL": os.environ["REDIS_URL"], "CACHE_KEY_PREFIX": uuid.uuid4().hex}


@pytest.mark.parametrize("cache_config", [_embedded, _redis], ids=["embedded", "redis"])
def test_sign_in_rate_holds_across_two_worker_processes(tmp_path, cache_config):
    env = {
        "EDGEPLUG_VAR_DIR": str(tmp_path),
        "DATABASE_URL": database_url_for_test_db(),
        "THROTTLE_AUTH": f"{LIMIT}/min",
        "THROTTLE_ANON": "1000/min",
        **cache_config(tmp_path),
    }
    with gunicorn(tmp_path, workers=2, env=env) as server:
        responses, answered_by = [], []
        sign_in = "POST /api/v1/auth/token"
        for n in range(4 * LIMIT):
            # Each sign-in goes to the worker that did not answer the one before (the kernel
            # alone may hand every connection to the same process).
            pin = server.busy(answered_by[-1]) if answered_by else contextlib.nullcontext()
            with pin:
                responses.append(
                    requests.post(
                        f"{server.url}/api/v1/auth/token",
                        json={"email": f"nobody-{n}@example.com", "password": "wrong"},
                        timeout=30,
                    )
                )
            answered_by = server.answered_by(sign_in, at_least=n + 1)
    codes = [r.status_code for r in responses]
    # The two processes took turns, or the test would not show anything.
    assert len(set(answered_by)) == 2, server.access_log.read_text()
    assert all(a != b for a, b in itertools.pairwise(answered_by)), answered_by
    assert codes == [401] * LIMIT + [429] * (3 * LIMIT), codes
    for refused in responses[LIMIT:]:
        assert refused.json()["code"] == "throttled"
        assert 0 < int(refused.headers["Retry-After"]) <= 60
