"""Readiness checks: each returns None when fine or raises, its reason said by /ready.

A pod cannot serve without the database. It goes on without the other parts, each outage said
where it matters (docs/scaling.md): without the cache it reads the database, without the
broker a submission answers ``broker_unavailable``, without storage an upload or download
answers ``storage_unavailable``, while browsing, buying and billing go on. So only the
database takes a pod out of service (``/ready`` 503); the others make it ``degraded`` (200,
naming them): every pod shares them, and taking all out would stop what still works too.

A part that hangs must not hang ``/ready`` past its probe's timeout (a probe that times out
fails, the pod leaving the Service all the same): the other parts are checked at once, each
on a thread of its own, while the request checks the database; one that has not answered
within ``READY_CHECK_TIMEOUT_S`` is reported ``unavailable (no answer in N s)``. A part whose
last check still hangs is not checked again meanwhile: the next probe waits for that check."""

import contextlib
import logging
import queue
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
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

    # Once, without the 2 s wait of a retry (the next probe asks again), and not for the
    # transport's own socket_timeout (10 s) when the broker takes connections and never
    # answers: twice what /ready waits, so the check is reported as not answering, never
    # half the time as a timeout of its own.
    bound = 2 * settings.READY_CHECK_TIMEOUT_S
    options = {"socket_timeout": bound, "socket_connect_timeout": bound}
    with app.connection_for_write(transport_options=options) as conn:
        conn.ensure_connection(max_retries=0, timeout=bound)
        if conn.transport.driver_type == "filesystem":
            _check_broker_folders(conn.transport_options)


# The folders of kombu's filesystem transport that sending and receiving use: tasks (in and
# out) and broadcasts (the control folder).
_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "control_folder")


def _check_broker_folders(options: dict) -> None:
    """The embedded default's broker (folders under ``var/broker``) connects to nothing, so
    connecting says nothing: a file written and removed in each of its folders, as sending a
    message writes one (``NotADirectoryError``, ``PermissionError`` … where it cannot)."""
    for folder in dict.fromkeys(options[key] for key in _BROKER_FOLDERS if key in options):
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".ready-"):
            pass


def check_storage() -> None:
    """The store's top level listed, which writes nothing: a missing bucket, refused
    credentials or an endpoint out of reach fail it as a write would. A probe that wrote and
    deleted an object each time (until 2026-12-07) left, in a versioned bucket, a version and
    a delete marker every 10 s per pod, for ever."""
    # A file system store's folder not made yet (the embedded default before its first
    # upload) is no outage: the first save makes it. A folder that cannot be one (a file in
    # its path, NotADirectoryError) or cannot be read still fails.
    with contextlib.suppress(FileNotFoundError):
        default_storage.listdir("")


def _checked(name: str, check) -> CheckResult:
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
        # /ready is public: it names the failing part and the kind of error; the message,
        # which may carry host names or user names, goes to the log only.
        logger.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
        return CheckResult(name, False, f"unavailable ({type(exc).__name__})")
    return CheckResult(name, True)


@dataclass
class _Run:
    done: threading.Event = field(default_factory=threading.Event)
    result: CheckResult | None = None


class _Background:
    """One part's check on a daemon thread of its own, kept with the clients it opens (threads
    are started in each server process, after the fork, on the first probe), one run at a
    time: asked while a run still hangs, it hands out that run."""

    def __init__(self, name: str, check):
        self.name = name
        self.check = check
        self._lock = threading.Lock()
        self._asked: queue.SimpleQueue[_Run] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._run: _Run | None = None

    def ask(self) -> _Run:
        with self._lock:
            if self._run is None or self._run.done.is_set():
                self._run = _Run()
                self._asked.put(self._run)
            # A thread that ended (see _serve) or did not survive a fork is replaced, and the
            # new one takes what is asked.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name=f"ready-{self.name}", daemon=True
                )
                self._thread.start()
            return self._run

    def _serve(self) -> None:
        while True:
            run = self._asked.get()
            try:
                run.result = _checked(self.name, self.check)
            except BaseException:  # a SystemExit: this thread ends, its run answered
                with self._lock:  # and, in the same step, the next ask() starts another
                    self._thread = None
                    run.result = CheckResult(self.name, False, "unavailable (check ended)")
                    run.done.set()
                raise
            run.done.set()


REQUIRED = "database"  # the one part a pod cannot serve without
OPTIONAL = {
    "cache": _Background("cache", check_cache),
    "broker": _Background("broker", check_broker),
    "storage": _Background("storage", check_storage),
}


def run_checks() -> list[CheckResult]:
    """The database checked here, the other parts meanwhile, each given until
    ``READY_CHECK_TIMEOUT_S`` after the start."""
    bound = settings.READY_CHECK_TIMEOUT_S
    runs = {name: part.ask() for name, part in OPTIONAL.items()}
    started = time.monotonic()
    results = [_checked(REQUIRED, check_database)]
    for name, run in runs.items():
        if run.done.wait(max(0.0, bound - (time.monotonic() - started))):
            results.append(run.result)
        else:
            logger.warning("readiness check %s did not answer in %g s", name, bound)
            results.append(CheckResult(name, False, f"unavailable (no answer in {bound:g} s)"))
    return results
