"""/metrics tells task counts, request volumes and devices with usage gaps: it answers only a
scrape presenting ``Authorization: Bearer <METRICS_TOKEN>``; until 2026-12-07 it answered
anyone. Without the token set it is open only with METRICS_OPEN_WITHOUT_TOKEN (DEBUG by default,
set by `make run`), closed elsewhere, the container image on SQLite too, and ``manage.py check``
says so at start (docs/operations.md, Monitoring)."""

import logging
import os
import shutil
import subprocess
from pathlib import Path

import prometheus_client
import pytest
from django.conf import settings
from django.core import checks as django_checks
from django.test import Client

from edgeplug.health import metrics_access
from edgeplug.health.task_signals import count_task
from tests.conftest import METRICS_TOKEN
from tests.processes import python_with_settings

pytestmark = pytest.mark.django_db

COUNTED = 'edgeplug_celery_tasks_total{state="succeeded",task="billing.tasks.email_invoice"} 1.0'


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    count_task("billing.tasks.email_invoice", "succeeded")


def _refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    assert COUNTED not in response.content.decode()
    return body


def test_a_scrape_without_the_token_is_refused(token):
    response = Client().get("/metrics")
    _refused(response, 401, "metrics_token_required")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {METRICS_TOKEN}x", "Bearer wrong", f"Bearer {METRICS_TOKEN[:-1]}", "Bearer é"],
)
def test_a_scrape_with_a_wrong_token_is_refused_and_the_token_not_logged(
    token, caplog, authorization
):
    with caplog.at_level(logging.DEBUG):
        response = Client().get("/metrics", headers={"Authorization": authorization})
    _refused(response, 401, "metrics_token_invalid")
    assert response["WWW-Authenticate"] == "Bearer"
    presented = authorization.removeprefix("Bearer ")
    assert presented not in caplog.text
    assert METRICS_TOKEN not in caplog.text


def test_a_scrape_presenting_another_scheme_has_no_token(token):
    response = Client().get("/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"})
    _refused(response, 401, "metrics_token_required")


def test_a_scrape_with_the_token_reads_the_metrics(token):
    response = Client().get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"] == prometheus_client.CONTENT_TYPE_LATEST
    text = response.content.decode()
    assert COUNTED in text
    assert "django_http_requests_total_by_method_total" in text


def test_without_a_token_set_a_production_process_keeps_metrics_closed(settings):
    settings.METRICS_TOKEN, settings.METRICS_OPEN_WITHOUT_TOKEN = "", False
    count_task("billing.tasks.email_invoice", "succeeded")
    for headers in ({}, {"Authorization": "Bearer anything"}):
        body = _refused(Client().get("/metrics", headers=headers), 403, "metrics_not_configured")
        assert "METRICS_TOKEN" in body["detail"]


def test_without_a_token_set_a_development_process_answers_anyone(settings):
    settings.METRICS_TOKEN, settings.METRICS_OPEN_WITHOUT_TOKEN = "", True
    count_task("billing.tasks.email_invoice", "succeeded")
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert COUNTED in response.content.decode()


def _warnings() -> list[django_checks.CheckMessage]:
    return [m for m in django_checks.run_checks() if m.id == "health.W001"]


def test_the_start_warns_a_production_process_without_a_token(settings):
    settings.METRICS_TOKEN, settings.METRICS_OPEN_WITHOUT_TOKEN = "", False
    [warning] = _warnings()
    assert warning.level == django_checks.WARNING
    assert "METRICS_TOKEN" in warning.msg
    assert "docs/operations.md" in warning.hint
    assert metrics_access.metrics_token_is_set(None) == [warning]


@pytest.mark.parametrize(("token_set", "development"), [(METRICS_TOKEN, False), ("", True)])
def test_the_start_does_not_warn_with_a_token_or_in_development(settings, token_set, development):
    settings.METRICS_TOKEN, settings.METRICS_OPEN_WITHOUT_TOKEN = token_set, development
    assert _warnings() == []


POSTGRES = "postgres://edgeplug@db.example:5432/edgeplug"
# Read afresh as a server starts: whether /metrics is open without a token, and whether the
# start warns (health.W001).
OPENNESS = (
    "import django; django.setup(); from django.conf import settings; "
    "from django.core import checks; "
    "print(settings.METRICS_OPEN_WITHOUT_TOKEN, "
    "any(m.id == 'health.W001' for m in checks.run_checks()))"
)


@pytest.mark.parametrize(
    ("env", "open_without_token"),
    [
        # The container image's default command: gunicorn on 0.0.0.0:8000, on SQLite without
        # DATABASE_URL. Until 2026-12-07 SQLite alone opened /metrics to the network, unwarned.
        ({}, False),
        ({"METRICS_OPEN_WITHOUT_TOKEN": "true"}, True),  # as `make run` (scripts/run.sh) sets
        ({"DATABASE_URL": POSTGRES}, False),  # a deployment: docker compose, Kubernetes
        ({"DATABASE_URL": POSTGRES, "DEBUG": "true"}, True),
        ({"DEBUG": "true", "METRICS_OPEN_WITHOUT_TOKEN": "false"}, False),
    ],
    ids=["sqlite-image", "make-run", "deployment", "deployment-in-debug", "debug-closed"],
)
def test_which_process_is_open_without_a_token(tmp_path, env, open_without_token):
    started = python_with_settings(tmp_path, OPENNESS, **env)
    assert started.returncode == 0, started.stderr
    # Open without a token, or closed and warned at start: never closed in silence.
    assert started.stdout.split() == [str(open_without_token), str(not open_without_token)]


def _run_sh_environment(tmp_path: Path, *args: str, **env) -> str:
    """METRICS_OPEN_WITHOUT_TOKEN as scripts/run.sh (`make run`) hands it to runstack: the
    script run from a copy of the checkout whose bootstrap does nothing and whose Python says
    what it was given."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(Path(settings.BASE_DIR) / "scripts" / "run.sh", tmp_path / "scripts" / "run.sh")
    bootstrap = tmp_path / "scripts" / "bootstrap.sh"
    bootstrap.write_text("#!/bin/sh\n")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\necho "$METRICS_OPEN_WITHOUT_TOKEN $*"\n')
    for script in (bootstrap, python):
        script.chmod(0o755)
    return subprocess.run(
        ["bash", str(tmp_path / "scripts" / "run.sh"), *(args or ("--port", "8001"))],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def test_make_run_keeps_metrics_open_on_its_loopback_server(tmp_path):
    assert _run_sh_environment(tmp_path) == "true manage.py runstack --port 8001"


def test_make_run_leaves_an_explicit_choice_alone(tmp_path):
    assert _run_sh_environment(tmp_path, METRICS_OPEN_WITHOUT_TOKEN="false") == (
        "false manage.py runstack --port 8001"
    )


def test_run_sh_on_another_address_keeps_metrics_closed(tmp_path):
    """``--host`` serves where others may reach it: no opening without a token there."""
    assert _run_sh_environment(tmp_path, "--host", "0.0.0.0") == (
        "manage.py runstack --host 0.0.0.0"
    )
