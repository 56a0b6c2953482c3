"""Stopping the server processes tests and benchmarks start (worker, gunicorn, runstack) the
way an operator does: SIGTERM for a graceful shutdown, SIGKILL only if it does not finish in
time."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def wait_for(condition, timeout: float = 30) -> bool:
    """Whether ``condition()`` came true within ``timeout`` seconds, asked every 0.1 s: waiting
    for a process's or a server's state, not for the clock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def wait_while_running(
    process: subprocess.Popen, condition, *, timeout: float, what: str, log: Path | None = None
) -> None:
    """Wait until ``condition()`` comes true while ``process`` runs (a server starting): an
    AssertionError saying ``what`` did not happen, with the end of the process's ``log``, when it
    exits first or ``timeout`` seconds pass."""
    if wait_for(lambda: process.poll() is not None or condition(), timeout):
        if process.poll() is None:
            return
        ended = f"it exited with {process.returncode}"
    else:
        ended = f"not within {timeout:g} s"
    tail = log.read_text(errors="replace")[-3000:] if log is not None else ""
    raise AssertionError(f"{what}: {ended}\n{tail}")


def stop_process(process: subprocess.Popen, *, timeout: float = 30) -> None:
    """SIGTERM (a warm shutdown: gunicorn and Celery finish what they hold), SIGKILL after
    ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def shared_keys(env: dict[str, str]) -> dict[str, str]:
    """The run's platform key ring and, on another database than the embedded default, its
    SECRET_KEY (tests/var_isolation.py), for a process started with the environment ``env`` of
    its own: on PostgreSQL a deployment's processes share them, none makes its own."""
    from django.conf import settings

    names = ("PLATFORM_SIGNING_KEYS", "PLATFORM_SIGNING_KEYS_FILE")
    keys = {name: os.environ[name] for name in names if name in os.environ}
    if not env.get("DATABASE_URL", "sqlite").startswith("sqlite"):
        keys["SECRET_KEY"] = settings.SECRET_KEY
    return keys


def python_with_settings(tmp_path: Path, code: str, **env) -> subprocess.CompletedProcess:
    """Run ``code`` in a new Python with the project's settings read afresh from ``env`` (only
    PATH and HOME inherited; var files under ``tmp_path``), as a server would start."""
    from django.conf import settings

    return subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "PYTHONPATH": str(settings.BASE_DIR),
            "DJANGO_SETTINGS_MODULE": "edgeplug.settings",
            "EDGEPLUG_VAR_DIR": str(tmp_path),
            **shared_keys(env),
            **env,
        },
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
