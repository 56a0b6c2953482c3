"""Readiness checks: each returns None when fine or raises, its reason said by /ready.

A pod cannot serve without the database. It goes on without the other parts, each outage said
where it matters (docs/scaling.md): without the cache it reads the database, without the
broker a submission answers ``broker_unavailable``, without storage an upload or download
answers ``storage_unavailable``, while browsing, buying and billing go on. So only the
database takes a pod out of service (``/ready`` 503); the others make it ``degraded`` (200,
naming them): every pod shares them, and taking all out would stop what still works too."""

import logging
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    error: str | None = None
    required: bool = False


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache() -> None:
    key = f"ready:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)


def check_broker() -> None:
    from edgeplug.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def check_storage() -> None:
    name = default_storage.save(f"ready/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as fh:
            if fh.read() != b"ok":
                raise RuntimeError("storage did not return what was written")
    finally:
        default_storage.delete(name)


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "storage": check_storage,
}


REQUIRED = frozenset({"database"})


def run_checks() -> list[CheckResult]:
    results = []
    for name, check in CHECKS.items():
        required = name in REQUIRED
        try:
            check()
            results.append(CheckResult(name, True, required=required))
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
            # /ready is public: it names the failing part and the kind of error; the message,
            # which may carry host names or user names, goes to the log only.
            logger.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
            error = f"unavailable ({type(exc).__name__})"
            results.append(CheckResult(name, False, error, required=required))
    return results
