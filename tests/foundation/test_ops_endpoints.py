"""Liveness, readiness, metrics, request ids and the API schema/docs."""

import json

import pytest
from django.test import Client

from edgeplug.health.task_signals import count_task
from tests.network import refusing_port, silent_port
from tests.processes import python_with_settings

pytestmark = pytest.mark.django_db


def test_health_answers():
    response = Client().get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("path", ["/ready", "/ready?strict"])
def test_ready_checks_every_dependency(path):
    response = Client().get(path)
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "storage": "ok",
    }


def test_ready_is_degraded_naming_storage_it_can_serve_without(settings, tmp_path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocked / "media")},
        },
    }
    response = Client().get("/ready")
    assert response.status_code == 200  # browsing, buying and billing go on: stays in service
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["storage"] == "unavailable (NotADirectoryError)"
    starting = Client().get("/ready?strict")  # a starting pod must see every part
    assert (starting.status_code, starting.json()) == (503, body)


def test_ready_finds_a_store_not_made_yet_ok_and_writes_nothing(settings, tmp_path):
    """The embedded default before its first upload: the store's folder is made by the first
    save, and /ready (every 10 s per pod) adds nothing to the store."""
    location = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    assert Client().get("/ready").json()["checks"]["storage"] == "ok"
    location.mkdir()
    assert Client().get("/ready").json()["checks"]["storage"] == "ok"
    assert list(location.iterdir()) == []


ASK = """
import json, time, django
django.setup()
from django.test import Client
answers = []
for path in {paths!r}:
    started = time.monotonic()
    answer = Client().get(path, HTTP_HOST="localhost")
    answers.append([answer.status_code, answer.json(), time.monotonic() - started])
print(json.dumps(answers))
"""


def _asked(tmp_path, database_url: str, *paths: str) -> list[tuple[int, dict, float]]:
    """Each of ``paths`` asked of a server started afresh on ``database_url``: its status,
    body and seconds taken."""
    started = python_with_settings(tmp_path, ASK.format(paths=paths), DATABASE_URL=database_url)
    assert started.returncode == 0, started.stderr[-2000:]
    return [tuple(answer) for answer in json.loads(started.stdout.splitlines()[-1])]


def test_ready_is_503_when_the_database_is_down(tmp_path):
    """The one part a pod cannot serve without: a server whose database refuses connections."""
    with refusing_port() as port:
        plain, strict = _asked(
            tmp_path, f"postgres://edgeplug@127.0.0.1:{port}/edgeplug", "/ready", "/ready?strict"
        )
    assert plain[:2] == strict[:2]
    status, body, _ = plain
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "unavailable (OperationalError)"
    assert body["checks"]["storage"] == "ok"


def test_a_database_that_never_answers_is_given_up_on_within_its_connect_timeout(tmp_path):
    """A database host that takes connections and never answers (a hung server, a half-open
    network) holds a request opening a connection for DB_CONNECT_TIMEOUT_S (3 s), not until
    the worker is killed: /ready answers 503 within its probes' 5 s and a request answers 503
    database_unavailable the client may retry."""
    with silent_port() as port:
        # /health first, which asks no database: the fresh process's first request loads the
        # URLs and views, which is not the wait measured (over 2 s on a loaded machine).
        _, (ready, ready_body, ready_s), (api, api_body, api_s) = _asked(
            tmp_path,
            f"postgres://edgeplug@127.0.0.1:{port}/edgeplug",
            "/health",
            "/ready",
            "/api/v1/agents",
        )
    assert (ready, ready_body["checks"]["database"]) == (503, "unavailable (OperationalError)")
    assert (api, api_body["code"]) == (503, "database_unavailable")
    # Each address the host resolves to is given the whole timeout; 127.0.0.1 is one.
    assert ready_s < 5 and api_s < 5, (ready_s, api_s)


EMBEDDED_READY = """
import json, shutil, django
django.setup()
from django.conf import settings
from django.test import Client
for folder in {unusable!r}:
    path = settings.BROKER_DIR / folder
    shutil.rmtree(path)
    path.write_text("")  # a file where the broker's folder was
answer = Client().get("/ready", HTTP_HOST="localhost")
print(json.dumps([answer.status_code, answer.json()]))
"""


def _embedded_ready(tmp_path, *unusable: str) -> tuple[int, dict]:
    """/ready of the embedded default (no REDIS_URL: the filesystem broker under var/broker),
    each of its ``unusable`` folders replaced by a file once the server started."""
    started = python_with_settings(tmp_path, EMBEDDED_READY.format(unusable=unusable))
    assert started.returncode == 0, started.stderr[-2000:]
    status, body = json.loads(started.stdout.splitlines()[-1])
    return status, body


def test_the_embedded_broker_is_ok_while_its_folders_are_usable(tmp_path):
    assert _embedded_ready(tmp_path)[1]["checks"]["broker"] == "ok"


@pytest.mark.parametrize("folder", ["queue", "control"])
def test_the_embedded_broker_is_unavailable_when_a_folder_of_it_is_unusable(tmp_path, folder):
    """The filesystem broker's check connected to nothing (the transport has no connection):
    /ready said ok while a task sent to its queue folder failed with NotADirectoryError."""
    status, body = _embedded_ready(tmp_path, folder)
    assert (status, body["status"]) == (200, "degraded")
    assert body["checks"]["broker"] == "unavailable (NotADirectoryError)"


def test_metrics_expose_requests_database_and_celery_tasks(scrape):
    count_task("edgeplug.accounts.tasks.flush_expired_tokens", "succeeded")
    Client().get("/health")
    text = scrape().content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert "django_http_requests_latency_seconds_by_view_method" in text
    assert "django_db_execute_total" in text
    assert (
        'edgeplug_celery_tasks_total{state="succeeded",'
        'task="edgeplug.accounts.tasks.flush_expired_tokens"} 1.0'
    ) in text


def test_request_id_is_returned_and_client_ids_are_kept():
    client = Client()
    generated = client.get("/health")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/health", HTTP_X_REQUEST_ID="trace-12345678")["X-Request-ID"] == (
        "trace-12345678"
    )
    assert client.get("/health", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"


def test_openapi_schema_lists_auth_endpoints():
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/auth/token" in paths
    assert "/api/v1/tenant/members" in paths


def test_swagger_ui_is_served_from_local_static_files():
    html = Client().get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html
