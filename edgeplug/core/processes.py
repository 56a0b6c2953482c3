"""Command lines of the processes EdgePlug runs beside the web server, built in one place
for ``runstack`` and for the test suite's real worker."""

import sys


def celery_command(role: str, *args: str) -> list[str]:
    """``celery -A edgeplug <role>`` (worker or beat) with this interpreter. No
    ``--loglevel``: the process logs at ``LOG_LEVEL`` (``edgeplug.celery``)."""
    return [sys.executable, "-m", "celery", "-A", "edgeplug", role, *args]
