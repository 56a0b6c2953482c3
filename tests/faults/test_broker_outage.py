"""Redis, the broker, stops while a vendor submits a run: the real web server answers
``503 broker_unavailable`` at once (not after Celery's default retries) and queues nothing;
once Redis is back the same submission is accepted and its message waits in the
``certification`` queue.

The Redis here is a private ``redis-server`` on a free port started by the test, never the
shared one the rest of the suite uses.
"""

import pytest
import requests

from certification.models import CertificationRun
from tests.certification.conftest import model_package
from tests.faults.components import web_env
from tests.gunicorn_server import gunicorn

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _bearer(client) -> str:
    return client._credentials["HTTP_AUTHORIZATION"]


def test_a_submit_while_redis_is_down_is_503_and_succeeds_once_it_returns(
    tmp_path, vendor, private_redis
):
    version_id = vendor.upload(model_package()).json()["version"]["id"]
    env = web_env(
        tmp_path, CELERY_BROKER_URL=private_redis.url, CELERY_RESULT_BACKEND=private_redis.url
    )
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
