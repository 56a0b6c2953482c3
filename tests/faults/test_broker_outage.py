"""Redis, the broker, stops while a vendor submits a run: the real web server answers
``503 broker_unavailable`` at once (not after Celery's default retries) and queues nothing;
once Redis is back the same submission is accepted and its message waits in the
``certification`` queue.

The Redis here is a private ``redis-server`` on a free port started by the test, never the
shared one the rest of the suite uses.
"""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from certification.models import CertificationRun
from tests.certification.conftest import model_package
from tests.gunicorn_server import database_url_for_test_db, free_port, gunicorn

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REDIS_SERVER = shutil.which("redis-server")


class PrivateRedis:
    """A redis-server of the test's own, that the test can stop and start on the same port."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.process.poll() is None, (self.workdir / "redis.log").read_text()
                assert time.monotonic() < deadline, "redis-server did not listen in 20 s"
                time.sleep(0.05)  # waiting for a process to listen, not for the clock

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def queue_length(self, queue: str) -> int:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(f"LLEN {queue}\r\n".encode())
            reply = conn.recv(64).decode()
        assert reply.startswith(":"), reply
        return int(reply[1:].strip())


@pytest.fixture
def private_redis(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: no private broker to stop")
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


def _bearer(client) -> str:
    return client._credentials["HTTP_AUTHORIZATION"]


def test_a_submit_while_redis_is_down_is_503_and_succeeds_once_it_returns(
    tmp_path, vendor, private_redis
):
    version_id = vendor.upload(model_package()).json()["version"]["id"]
    env = {
        "EDGEPLUG_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": database_url_for_test_db(),
        # The vendor's token was signed with this process's key.
        "SECRET_KEY": settings.SECRET_KEY,
        "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "CELERY_BROKER_URL": private_redis.url,
        "CELERY_RESULT_BACKEND": private_redis.url,
        "THROTTLE_USER": "1000/min",
        "THROTTLE_TENANT": "1000/min",
    }
    headers = {"Authorization": _bearer(vendor.client)}

    def submit(timeout=60):
        return requests.post(
            f"{server.url}/api/v1/certification/submit",
            json={"version_id": version_id},
            headers=headers,
            timeout=timeout,
        )

    with gunicorn(tmp_path, workers=1, env=env) as server:
        private_redis.stop()
        # The answer comes before a client's patience runs out (Celery's default retries
        # held it about 20 s; the settings keep them to about a second): no ReadTimeout here.
        refused = submit(timeout=10)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "broker_unavailable"
        assert refused.json()["detail"]
        failed = CertificationRun.objects.get(pk=refused.json()["run_id"])
        # Nothing half-written: the run is closed as an error, so it blocks nothing.
        assert (failed.status, failed.error_code) == ("error", "broker_unavailable")

        private_redis.start()
        accepted = submit()
        assert accepted.status_code == 202, accepted.text
        run = CertificationRun.objects.get(pk=accepted.json()["run_id"])
        assert run.pk != failed.pk and run.status == "queued"
        # The message is on the broker, in the queue the certification workers consume.
        assert private_redis.queue_length("certification") == 1
        assert private_redis.queue_length("default") == 0
    assert CertificationRun.objects.filter(version_id=version_id).count() == 2
