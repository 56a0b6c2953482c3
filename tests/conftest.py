"""Fixtures shared by the whole suite."""

import os
import signal
import subprocess
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from edgeplug.core.processes import celery_command
from edgeplug.grpc_server import build_server
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    TenantFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from tests.gunicorn_server import database_url_for_test_db
from tests.processes import stop_process
from tests.s3_conftest_helpers import start_moto_server

# Properties are checked by their examples, not by how fast examples come on a shared machine:
# no per-example deadline and no "generation is slow" health check (both fail under load only).
hypothesis_settings.register_profile(
    "edgeplug", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("edgeplug")

# Vendors with signing keys (make_vendor, vendor) are shared by several test folders.
pytest_plugins = ["tests.vendors"]


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return [
        f"edgeplug database: {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db['NAME']})",
        f"edgeplug cache: {cache_backend}; broker: {settings.CELERY_BROKER_URL.split('://')[0]}",
    ]


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Only in-process tests: processes the suite starts use the real hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The hashed-manifest storage needs collectstatic; in-process tests don't run it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


METRICS_TOKEN = "metrics-token-of-the-tests"


@pytest.fixture
def scrape(settings):
    """GET /metrics as Prometheus scrapes it: with the bearer token METRICS_TOKEN is set to."""
    settings.METRICS_TOKEN = METRICS_TOKEN

    def get():
        return Client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})

    return get


@pytest.fixture
def clock():
    """Time stopped at the test's start; ``clock.move_to(...)`` moves it (time-machine)."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def eager_celery():
    """Tasks queued with .delay() (and whole canvases: chains, chords) run at once in this
    process, through the same task code a worker runs."""
    from edgeplug.celery import app

    app.loader.import_default_modules()  # registers the tasks that canvases name
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def moto(tmp_path):
    """A ``moto_server`` of this test's own on loopback (its buckets: ``create_bucket``); a
    module that wants one for all its tests starts it as a session fixture instead."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    server = start_moto_server(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def live_worker(celery_worker_process, settings, media_root):
    """A real worker, with this test storing files where the worker reads them."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(celery_worker_process.media_root)},
        },
    }
    return celery_worker_process


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path_factory):
    """Each test stores files in a directory of its own (unless it switches to S3)."""
    root = tmp_path_factory.mktemp("media")
    if settings.STORAGE == "filesystem":
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(root)},
            },
        }
    return root


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def grpc_channel():
    """A channel to the real gRPC server (``edgeplug.grpc_server``) started on a loopback port
    for the test, as ``manage.py grpcserver`` starts it."""
    threads = settings.GRPC_MAX_WORKERS
    executor = ThreadPoolExecutor(max_workers=threads)
    server, port = build_server("127.0.0.1:0", executor=executor)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    server.stop(None).wait()
    _close_connections_of(executor, threads)


def _close_connections_of(executor: ThreadPoolExecutor, threads: int) -> None:
    """Close the database connection each of ``executor``'s threads keeps (as a web worker
    does), which would outlive the test (a thread's end does not close it) and keep the test
    database from being dropped. One task per thread it may have, each held until all run,
    so that every thread takes one."""
    everyone = threading.Barrier(threads, timeout=10)

    def close() -> None:
        connections.close_all()
        everyone.wait()

    for done in [executor.submit(close) for _ in range(threads)]:
        done.result()
    executor.shutdown()


@pytest.fixture
def api():
    return APIClient()


def totp_now(device, at: float | None = None) -> str:
    """The device's code now, or ``at`` (a Unix time: the next code is ``time.time() + 30``)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def totp_after_last(device) -> str:
    """The device's code for the step after the last one it took, which it accepts once.

    A device that took a code from the step before the server's clock keeps that offset
    (django-otp's drift, -1); a time one step after ``last_t`` would give that same code again.
    """
    device.refresh_from_db()
    return totp_now(device, at=device.t0 + (device.last_t + 1 - device.drift) * device.step)


def sign_in(api: APIClient, user, tenant=None, otp=None) -> dict:
    body = {"email": user.email, "password": PASSWORD}
    if tenant is not None:
        body["tenant"] = tenant.slug
    if otp is not None:
        body["otp"] = otp
    response = api.post("/api/v1/auth/token", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.fixture
def member_client(db):
    """make(role="admin", tenant=None, **tenant_kwargs) -> (client, membership)."""

    def make(role="admin", tenant=None, **tenant_kwargs):
        membership = MembershipFactory(
            role=role, tenant=tenant or TenantFactory(**tenant_kwargs), user=UserFactory()
        )
        client = APIClient()
        tokens = sign_in(client, membership.user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        return client, membership

    return make


@pytest.fixture
def staff_client(db):
    """staff_client(group="reviewers", mfa=True) -> an API client of a platform staff user,
    signed in with TOTP unless ``mfa`` is False (staff powers then stay off)."""
    from django.contrib.auth.models import Group

    def make(group="reviewers", mfa=True):
        user = UserFactory(is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        client = APIClient()
        otp = totp_now(TOTPDeviceFactory(user=user)) if mfa else None
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, user, otp=otp)['access']}")
        return client

    return make


def admin_login(client: Client, user, device=None):
    """Post the admin's sign-in form as a person does: e-mail, password and the current TOTP."""
    return client.post(
        "/admin/login/?next=/admin/",
        {
            "username": user.email,
            "password": PASSWORD,
            "otp_token": totp_now(device) if device else "",
            "otp_device": device.persistent_id if device else "",
        },
    )


@pytest.fixture
def admin_session(db):
    """admin_session(group="platform-admins", **user_fields) -> (Client, user): a staff user
    of that group, signed in to the admin with password and TOTP."""
    from django.contrib.auth.models import Group

    def make(group="platform-admins", **user_fields):
        user = UserFactory(is_staff=True, **user_fields)
        user.groups.add(Group.objects.get(name=group))
        client = Client()
        response = admin_login(client, user, TOTPDeviceFactory(user=user))
        assert response.status_code == 302, "admin sign-in with TOTP failed"
        return client, user

    return make


def delete_one_then_in_bulk(client, changelist: str, one_pk, bulk_pk) -> tuple[int, int]:
    """Delete a row from its admin delete page and another with the bulk "delete selected",
    confirmed as a person does; the two status codes."""
    one = client.post(f"{changelist}{one_pk}/delete/", {"post": "yes"})
    bulk = client.post(
        changelist, {"action": "delete_selected", "_selected_action": [bulk_pk], "post": "yes"}
    )
    return one.status_code, bulk.status_code


def changeform_data(response) -> dict:
    """The POST body a browser would send back from an admin change page, unchanged: every
    field of the main form and of each inline formset (with its management form)."""

    def values(form) -> dict:
        data = {}
        for bound in form:
            value = bound.value()
            if value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value
        return data

    data = values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(values(formset.management_form))
        for form in formset.initial_forms:
            data.update(values(form))
    return data


def send_form(client: Client, page, form_id: str, typed: dict | None = None, **options):
    """Send the form ``#form_id`` of ``page`` (a response) as a browser does: every field as
    the page served it (hidden ones too: a CSRF or one-time token), what is ``typed`` over
    them, to the form's action; ``options`` as for ``client.post`` (``follow=True``)."""
    from lxml import html

    [form] = html.fromstring(page.content).xpath(f'//form[@id="{form_id}"]')
    data: dict[str, list[str]] = {}
    for name, value in form.form_values():
        data.setdefault(name, []).append(value)
    data.update({name: [value] for name, value in (typed or {}).items()})
    return client.post(form.get("action"), data, **options)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database; at the end of the run, before it is dropped, any session
    still connected to it (a thread or process a test left running) is named in a warning:
    the drop would otherwise fail with only "being accessed by other users"."""
    yield
    with django_db_blocker.unblock():
        lingering = _lingering_sessions()
    if lingering:
        warnings.warn(
            "still connected to the test database at the end of the run: " + "; ".join(lingering),
            stacklevel=1,
        )


def _lingering_sessions(wait_s: float = 5.0) -> list[str]:
    """The other sessions on the test database (PostgreSQL), once those ending by themselves
    (processes stopping) have had ``wait_s`` to go."""
    if connection.vendor != "postgresql":
        return []
    deadline = time.monotonic() + wait_s
    try:
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pid, application_name, state, backend_start, left(query, 160)"
                    " FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                rows = cursor.fetchall()
            if not rows or time.monotonic() > deadline:
                return [
                    f"pid {pid} {app or '(no application_name)'} {state} since {started:%H:%M:%S}:"
                    f" {query!r}"
                    for pid, app, state, started, query in rows
                ]
            time.sleep(0.2)
    finally:
        connection.close()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process on the test database and the configured broker."""
    workdir = tmp_path_factory.mktemp("worker")
    log_path = workdir / "worker.log"
    (workdir / "media").mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_test_db()
        # Named, so a test ending its own process's connections leaves the worker's alone.
        + ("?application_name=edgeplug-test-worker" if connection.vendor == "postgresql" else ""),
        "MEDIA_ROOT": str(workdir / "media"),
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            celery_command("worker", "--concurrency", "2", "--without-gossip", "--without-mingle"),
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    proc.media_root = workdir / "media"
    yield proc
    stop_process(proc)
    if proc.returncode not in (0, -signal.SIGTERM) or os.environ.get("EDGEPLUG_SHOW_WORKER_LOG"):
        print(log_path.read_text()[-20000:])
