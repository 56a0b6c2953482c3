"""The Celery worker logs as the web processes do (README, ``LOG_LEVEL``: "JSON logs on
stderr, each line with its request_id"), at ``LOG_LEVEL``: before, Celery replaced the
project's logging with its own plain text lines at the ``--loglevel`` every command line
passed (INFO), whatever ``LOG_LEVEL`` said."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from edgeplug.core.management.commands.runstack import ROOT_WARNING_FILTER
from edgeplug.core.processes import celery_command
from tests.gunicorn_server import database_url_for_test_db
from tests.processes import stop_process, wait_while_running


def _records(log: Path) -> tuple[list[dict], list[str]]:
    """The JSON records of ``log`` with a request_id, and every other line."""
    records, others = [], []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and "request_id" in record:
            records.append(record)
        elif line.strip():
            others.append(line)
    return records, others


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_writes_json_lines_with_a_request_id_at_log_level(tmp_path):
    from edgeplug.celery import app

    log = tmp_path / "worker.err"
    queue = f"json-logs-{os.getpid()}"
    with open(log, "wb") as stderr:
        worker = subprocess.Popen(
            celery_command(
                "worker", "-Q", queue, "--concurrency", "1", "--without-gossip", "--without-mingle"
            ),
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DATABASE_URL": database_url_for_test_db(),
                "EDGEPLUG_VAR_DIR": str(tmp_path),
                "LOG_LEVEL": "DEBUG",
                # Celery's warning to root, printed before any logging is set up: runstack
                # leaves it out so (a deployment runs as an unprivileged user).
                "PYTHONWARNINGS": ROOT_WARNING_FILTER,
            },
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        wait_while_running(
            worker, lambda: b" ready." in log.read_bytes(), timeout=60, what="ready", log=log
        )
        app.send_task("certification.tasks.sweep_stale_runs", queue=queue)
        wait_while_running(
            worker, lambda: b"succeeded" in log.read_bytes(), timeout=60, what="task", log=log
        )
    finally:
        stop_process(worker)

    records, others = _records(log)
    assert not others, "lines that are not JSON with a request_id:\n" + "\n".join(others[:20])
    succeeded = [r for r in records if "succeeded" in r["message"]]
    assert succeeded and succeeded[0]["logger"] == "celery.app.trace"
    assert "DEBUG" in {r["level"] for r in records}  # LOG_LEVEL, not Celery's INFO


def _celery_command_lines() -> dict[str, list[str]]:
    """Each Celery command line the project runs: runstack's, docker-compose's, the k8s base's."""
    lines = {
        "runstack worker": celery_command("worker"),
        "runstack beat": celery_command("beat"),
    }
    base = Path(settings.BASE_DIR)
    compose = yaml.safe_load((base / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        lines[f"compose {name}"] = list(service.get("command") or [])
    for path in sorted((base / "deploy" / "k8s" / "base").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            spec = (doc or {}).get("spec", {}).get("template", {}).get("spec", {})
            for container in spec.get("containers", []):
                lines[f"{path.name} {container['name']}"] = list(container.get("command") or [])
    return {where: line for where, line in lines.items() if "celery" in " ".join(line)}


def test_no_celery_command_line_sets_a_log_level_of_its_own():
    lines = _celery_command_lines()
    assert {"runstack worker", "compose worker", "compose beat"} <= set(lines)
    with_level = {
        where: line
        for where, line in lines.items()
        if any(word.startswith(("--loglevel", "-l")) for word in line)
    }
    assert not with_level, with_level
