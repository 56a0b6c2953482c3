"""The certification worker is SIGKILLed (its whole process group: the main process, the
pool children and their sandboxes) while a run is in a stage: nothing is left to requeue the
task, yet the run finishes on another worker, with exactly one result per stage.

Acks are late, so the killed task stays unacknowledged in Redis; once the broker's
visibility timeout has passed (``CELERY_VISIBILITY_TIMEOUT_S``: 900 s deployed, a few seconds
here so the test stays short) a live worker puts it back on the queue and runs the stage
again. The broker is a private ``redis-server``, so the suite's session worker cannot take
the run. Two workers run from the start and each killed one is replaced at once, as an
orchestrator restarts a pod: the machine is too slow to wait for each newcomer to boot.
"""

import time

import pytest
import requests

from certification.models import CertificationResult, CertificationRun, StageAttempt
from tests.certification.conftest import model_package
from tests.faults.components import KillableWorker, web_env, worker_env
from tests.gunicorn_server import gunicorn

pytestmark = [
    pytest.mark.faults,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

VISIBILITY_TIMEOUT_S = 10
FINISHED = ("passed", "failed", "error")


def _wait(predicate, timeout: float, what: str, workers: KillableWorker, interval=0.02):
    deadline = time.monotonic() + timeout
    while (value := predicate()) is None:
        assert time.monotonic() < deadline, f"{what} within {timeout} s\n{workers.logs()}"
        time.sleep(interval)  # polling another process's progress, not waiting for the clock
    return value


@pytest.fixture
def workers(tmp_path, private_redis, media_root):
    env = worker_env(
        private_redis.url, media_root, CELERY_VISIBILITY_TIMEOUT_S=str(VISIBILITY_TIMEOUT_S)
    )
    pool = KillableWorker(tmp_path, env)
    pool.start()
    pool.start()
    yield pool
    pool.stop_all()


@pytest.fixture
def submit(tmp_path, vendor, private_redis):
    """submit(version_id, level) -> run id, through the real web server and the private broker."""
    env = web_env(
        tmp_path, CELERY_BROKER_URL=private_redis.url, CELERY_RESULT_BACKEND=private_redis.url
    )
    with gunicorn(tmp_path, workers=1, env=env) as server:

        def go(version_id: int, level: str) -> int:
            response = requests.post(
                f"{server.url}/api/v1/certification/submit",
                json={"version_id": version_id, "level": level},
                headers={"Authorization": vendor.client._credentials["HTTP_AUTHORIZATION"]},
                timeout=30,
            )
            assert response.status_code == 202, response.text
            return response.json()["run_id"]

        yield go


KILL_ATTEMPTS = 5


def _kill_during(stage: str, submit_run, workers: KillableWorker) -> None:
    """SIGKILL the worker running ``stage`` of a new run, start a replacement, and check the
    run still ends passed with one result per stage, the killed stage run again elsewhere.

    A short stage (security takes milliseconds on a fast machine) may finish between the
    moment it is seen starting and the kill: that run proves nothing about a kill mid-stage,
    so it is still checked to end well and another run is killed, up to ``KILL_ATTEMPTS``."""
    for _ in range(KILL_ATTEMPTS):
        run_id = submit_run()
        attempt = _wait(
            lambda run_id=run_id: StageAttempt.objects.filter(run_id=run_id, stage=stage).first(),
            180,
            f"the {stage} stage did not start",
            workers,
        )
        workers.kill(workers.group_of(attempt.worker_pid))
        landed = not CertificationResult.objects.filter(run_id=run_id, test_suite=stage).exists()
        workers.start()
        run = _wait(
            lambda run_id=run_id: CertificationRun.objects.filter(
                pk=run_id, status__in=FINISHED
            ).first(),
            VISIBILITY_TIMEOUT_S + 180,
            f"the run killed in {stage} did not finish",
            workers,
            interval=0.5,
        )
        results = list(CertificationResult.objects.filter(run_id=run_id))
        summary = {r.test_suite: (r.test_result, r.test_logs[-300:]) for r in results}
        assert run.status == "passed", (stage, run.error_detail, summary)
        assert sorted(r.test_suite for r in results) == sorted([*run.stages, "signing"]), stage
        if landed:
            reruns = StageAttempt.objects.filter(run_id=run_id, stage=stage).exclude(pk=attempt.pk)
            assert reruns.exists(), f"{stage} was never run again after the kill"
            assert attempt.worker_pid not in set(reruns.values_list("worker_pid", flat=True))
            return
    pytest.fail(
        f"the {stage} stage finished before each of {KILL_ATTEMPTS} kills: nothing was tested"
    )


def test_a_worker_killed_in_any_software_stage_leaves_one_result_per_stage(vendor, submit, workers):
    version_id = vendor.upload(model_package()).json()["version"]["id"]
    for stage in ("validation", "invariants", "performance", "security"):
        _kill_during(stage, lambda: submit(version_id, "standard"), workers)


def test_a_worker_killed_in_the_simulation_stage_leaves_one_result_per_stage(
    vendor, submit, workers, m4_firmware
):
    data = model_package(firmware=m4_firmware["good"])
    version_id = vendor.upload(data).json()["version"]["id"]
    _kill_during("simulation", lambda: submit(version_id, "hardware"), workers)
