"""pytest plugin (``-p tests.var_isolation`` in pyproject.toml): what a test run writes is its
own, loaded before Django reads its settings.

- The embedded default keeps its database, broker, secret key and platform key ring under
  ``EDGEPLUG_VAR_DIR`` (``./var``), creating the keys on first use. This points that
  directory at a fresh temporary one for the whole run (worker processes the suite starts
  inherit it), so testing never writes into the checkout.
- Under pytest-xdist (``-n``), each pytest worker (``gw0``, ``gw1`` …) gets a Redis database
  of its own, counting down from ``REDIS_URL``'s (15, 14 …): tests clear it (the cache's
  ``clear()`` is FLUSHDB) and the worker's real Celery worker takes its tasks from it, so
  two pytest workers sharing one would lose each other's tasks. pytest-django gives each its
  own test database (``test_…_gw0``); everything named after that database follows.
- Only the embedded default (SQLite) generates its platform key ring; on PostgreSQL a
  deployment must configure one, shared by all its processes. The run makes one key ring in
  the temporary directory and names it in ``PLATFORM_SIGNING_KEYS_FILE`` (unless the
  environment already gives keys), so the tests and the workers and servers they start sign
  and verify with the same keys, as a deployment's processes do. So with ``SECRET_KEY``: only
  the embedded default generates one into var/, so on another database the run makes one (unless
  the environment gives it) for itself and the processes it starts.
"""

import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from edgeplug import signing

STARTED = time.time()  # anything in the checkout's var/ newer than this was written by the run
_VAR_DIR = tempfile.mkdtemp(prefix="edgeplug-test-var-")
os.environ["EDGEPLUG_VAR_DIR"] = _VAR_DIR


def _write_key_ring(path: Path) -> None:
    """One key valid across any date a test travels to (public key and key id follow from it)."""
    private = signing.encode_b64(signing.generate_keypair().private_key)
    key = {"private_key": private, "not_before": "2000-01-01T00:00:00Z"}
    path.write_text(json.dumps({"keys": [{**key, "not_after": "2100-01-01T00:00:00Z"}]}))


if not (os.environ.get("PLATFORM_SIGNING_KEYS") or os.environ.get("PLATFORM_SIGNING_KEYS_FILE")):
    os.environ["PLATFORM_SIGNING_KEYS_FILE"] = os.path.join(_VAR_DIR, "test-platform-keys.json")
    _write_key_ring(Path(os.environ["PLATFORM_SIGNING_KEYS_FILE"]))

_DATABASE_URL = os.environ.get("DATABASE_URL", "")
if _DATABASE_URL and not _DATABASE_URL.startswith("sqlite") and not os.environ.get("SECRET_KEY"):
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)

REDIS_DATABASES = 16  # Redis's default `databases`


def redis_url_of_worker(url: str, worker: str) -> str:
    """``url`` with the Redis database of pytest-xdist worker ``worker`` (``gw<n>``): ``url``'s
    own database minus ``n``, wrapping below 0."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    database = (base - int(worker.removeprefix("gw"))) % REDIS_DATABASES
    return urlunsplit(parts._replace(path=f"/{database}"))


_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = redis_url_of_worker(os.environ["REDIS_URL"], _WORKER)


def pytest_report_header(config):
    return [f"edgeplug var dir: {_VAR_DIR} (temporary)"]


def pytest_unconfigure(config):
    shutil.rmtree(_VAR_DIR, ignore_errors=True)
