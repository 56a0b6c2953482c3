"""Stopping the server processes tests and benchmarks start (worker, gunicorn, runstack) the
way an operator does: SIGTERM for a graceful shutdown, SIGKILL only if it does not finish in
time."""

import signal
import subprocess


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
