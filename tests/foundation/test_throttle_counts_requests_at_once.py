"""The embedded default's file cache counts requests that arrive at once, in one process or in
several (the web workers share it): DRF reads a throttle's history and writes it back, and
requests in between overwrote each other's, so 30 sign-ins at once got 25 through a limit of
20 (found by a probe). Redis counts in one script (edgeplug/core/throttling.py)."""

import multiprocessing

import pytest
from django.test import RequestFactory

from edgeplug.core.throttling import AuthThrottle

LIMIT = 5
PROCESSES = 4
EACH = 5


def _sign_ins(barrier, allowed) -> None:
    request = RequestFactory().post("/api/v1/auth/token", REMOTE_ADDR="203.0.113.9")
    barrier.wait()
    passed = sum(AuthThrottle().allow_request(request, None) for _ in range(EACH))
    with allowed.get_lock():
        allowed.value += passed


@pytest.fixture
def file_cache(settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": f"{LIMIT}/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def test_sign_ins_at_once_from_several_processes_are_each_counted(file_cache):
    fork = multiprocessing.get_context("fork")
    barrier, allowed = fork.Barrier(PROCESSES), fork.Value("i", 0)
    workers = [fork.Process(target=_sign_ins, args=(barrier, allowed)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    assert allowed.value == LIMIT
