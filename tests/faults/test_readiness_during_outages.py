"""/ready while the parts every pod shares are out (edgeplug/health/checks.py): the pod stays
in service, ``degraded``, naming them, and answers within its probe's timeout even when they
hang, as a probe that times out would take it out all the same; a starting pod
(``?strict``) waits for them. Real servers that refuse or never answer, on loopback ports."""

import sys
import threading

import pytest
from django.test import Client

from edgeplug.health.checks import CheckResult, _Background
from tests.commerce.conftest import redis_cache_at
from tests.network import refusing_port, silent_port
from tests.processes import wait_for
from tests.s3_conftest_helpers import s3_storage

pytestmark = pytest.mark.django_db


def _ready(query: str = "") -> tuple[int, dict]:
    response = Client().get(f"/ready{query}")
    return response.status_code, response.json()


def test_a_broker_that_refuses_leaves_the_pod_serving(monkeypatch):
    with refusing_port() as port:
        monkeypatch.setenv("CELERY_BROKER_WRITE_URL", f"redis://127.0.0.1:{port}/0")
        status, body = _ready()
        assert (status, body["status"]) == (200, "degraded")
        assert body["checks"]["broker"] == "unavailable (OperationalError)"
        assert {name: body["checks"][name] for name in ("database", "cache", "storage")} == {
            "database": "ok",
            "cache": "ok",
            "storage": "ok",
        }
        assert _ready("?strict")[0] == 503
        assert _ready("?strict=1")[0] == 503
        assert _ready("?strict=false")[0] == 200  # strict turned off: the plain check


@pytest.fixture
def hanging_parts(settings, monkeypatch):
    """The cache, the broker and the S3 storage each at a port that takes connections and
    never answers, the storage with the settings' timeouts (5 s a read, 3 tries): the names of
    those it hangs (the file cache cannot hang). Afterwards, with the ports closed, it waits for
    the checks still hanging to end, so that none is handed to the next test."""
    settings.READY_CHECK_TIMEOUT_S = 0.5  # below the cache's own 1 s (CACHE_TIMEOUT_S)
    with silent_port() as cache_port, silent_port() as broker_port, silent_port() as s3_port:
        hung = ["broker", "storage"]
        if "redis" in settings.CACHES["default"]["BACKEND"]:
            redis_cache_at(settings, f"redis://127.0.0.1:{cache_port}/0")
            hung.append("cache")
        monkeypatch.setenv("CELERY_BROKER_WRITE_URL", f"redis://127.0.0.1:{broker_port}/0")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": s3_storage("edgeplug-ready", f"http://127.0.0.1:{s3_port}"),
        }
        yield hung
    assert wait_for(lambda: "no answer" not in str(_ready()[1]), 120), _ready()


# The bound is the feature: a probe gives /ready 5 s (deploy/k8s/base/web.yaml); the checks
# are given READY_CHECK_TIMEOUT_S (0.5 s here) at once, where one after another, the storage's
# alone would take 15 s.
@pytest.mark.timeout(5, func_only=True)
def test_parts_that_hang_are_reported_in_time_and_not_piled_up(hanging_parts):
    hung = hanging_parts
    status, body = _ready()
    assert (status, body["status"]) == (200, "degraded")
    assert body["checks"]["database"] == "ok"
    assert {name: body["checks"][name] for name in hung} == dict.fromkeys(
        hung, "unavailable (no answer in 0.5 s)"
    )
    threads = threading.active_count()
    status, body = _ready("?strict")  # the next probe waits for the same checks
    assert (status, body["status"]) == (503, "degraded")
    assert all(body["checks"][name].startswith("unavailable") for name in hung)
    assert threading.active_count() == threads  # and starts no thread for them


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the exit
def test_a_check_that_ends_its_thread_is_answered_and_its_thread_replaced():
    """A check that raises past ``Exception`` (a SystemExit) ends its thread: that probe is
    answered all the same, and the next, asked at once (while the old thread may still be
    unwinding), is checked by a new thread, rather than the part reported as not answering."""
    calls = []

    def ends_its_thread():
        calls.append(threading.current_thread())
        if len(calls) == 1:
            sys.exit(1)

    part = _Background("part", ends_its_thread)
    first = part.ask()
    assert first.done.wait(10)
    assert first.result == CheckResult("part", False, "unavailable (check ended)")
    second = part.ask()
    assert second.done.wait(10)
    assert second.result == CheckResult("part", True)
    assert calls[1] is not calls[0]
    # Its end reported here, where it is expected, not in whichever test runs next.
    calls[0].join(10)
    assert not calls[0].is_alive()
