"""Readiness checks: each returns None when fine or a short reason when not."""

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


def run_checks() -> list[CheckResult]:
    results = []
    for name, check in CHECKS.items():
        try:
            check()
            results.append(CheckResult(name, True))
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
            # /ready is public: it names the failing part and the kind of error; the message,
            # which may carry host names or user names, goes to the log only.
            logger.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
            results.append(CheckResult(name, False, f"unavailable ({type(exc).__name__})"))
    return results
