"""Stopping the server processes tests start (worker, gunicorn, runstack) the way an operator
does: SIGTERM for a graceful shutdown, SIGKILL only if it does not finish in time."""

import signal
import subprocess


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
