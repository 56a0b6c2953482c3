"""Command lines of the processes EdgePlug runs beside the web server, built in one place
for ``runstack`` and for the test suite's real worker."""

import sys


def celery_command(role: str, *args: str, loglevel: str = "INFO") -> list[str]:
    """``celery -A edgeplug <role>`` (worker or beat) with this interpreter."""
    return [sys.executable, "-m", "celery", "-A", "edgeplug", role, "--loglevel", loglevel, *args]
