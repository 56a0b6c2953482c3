"""pytest plugin (``-p tests.var_isolation`` in pyproject.toml): the suite's var/ is temporary.

The embedded default keeps its database, broker, secret key and platform key ring under
``EDGEPLUG_VAR_DIR`` (``./var``), creating the keys on first use. Loaded before Django reads
its settings, this points that directory at a fresh temporary one for the whole run (worker
processes the suite starts inherit it), so testing never writes into the checkout.
"""

import os
import shutil
import tempfile
import time

STARTED = time.time()  # anything in the checkout's var/ newer than this was written by the run
_VAR_DIR = tempfile.mkdtemp(prefix="edgeplug-test-var-")
os.environ["EDGEPLUG_VAR_DIR"] = _VAR_DIR


def pytest_report_header(config):
    return [f"edgeplug var dir: {_VAR_DIR} (temporary)"]


def pytest_unconfigure(config):
    shutil.rmtree(_VAR_DIR, ignore_errors=True)
