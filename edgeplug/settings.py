"""EdgePlug settings: every setting is read here, once, from the environment (django-environ).

With no environment at all the service runs on its embedded default: SQLite, file storage and
a filesystem Celery broker and a file cache, all under ``var/``. Setting ``DATABASE_URL``,
``REDIS_URL``, ``STORAGE=s3`` and friends switches each part to the full stack.
"""

import math
import re
from datetime import timedelta
from decimal import Decimal
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from kombu import Queue

from edgeplug.core.logging import UNREAD_REQUESTS
from edgeplug.secret_files import generate_secret, owner_only, read_or_create
from edgeplug.text import unprintable

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
VAR_DIR = Path(env("EDGEPLUG_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret(name: str, default: str = "") -> str:
    """A secret exactly as the environment gives it.

    Secrets bypass ``env()``: django-environ reads a value starting with ``$`` as a reference
    to another variable (``$abc`` means "the value of abc"), and a random secret may start
    with ``$``; a default that does too recurses until RecursionError.
    """
    return env.ENVIRON.get(name) or default


def _number(name: str, default: int, *, at_least: int = 0) -> int:
    """The whole number the environment gives for ``name``, else ``default``. A value that is
    not a whole number, or is below ``at_least``, stops the service at start with a message
    naming the variable, what it holds and what it must be."""
    raw = env.str(name, default=None)
    value = default if raw is None else _parsed(raw, int)
    if value is None or value < at_least:
        raise environ.ImproperlyConfigured(
            f"{name} must be a whole number of at least {at_least}, not {raw!r}"
        )
    return value


def _seconds(name: str, default: float) -> float:
    """A timeout in seconds the environment gives for ``name``, else ``default``: a finite
    number above 0 (0 means "do not wait at all" to a socket and "wait for ever" to some
    clients), or the service stops at start naming the variable."""
    raw = env.str(name, default=None)
    value = default if raw is None else _parsed(raw, float)
    if value is None or not 0 < value < math.inf:
        raise environ.ImproperlyConfigured(
            f"{name} must be a number of seconds above 0, not {raw!r}"
        )
    return value


def _percent(name: str, default: str) -> Decimal:
    """A percentage from 0 to 100 the environment gives for ``name`` (a Decimal), else
    ``default``, or the service stops at start naming the variable."""
    raw = env.str(name, default=None)
    value = _parsed(default if raw is None else raw, Decimal)
    if value is None or not value.is_finite() or not 0 <= value <= 100:
        raise environ.ImproperlyConfigured(
            f"{name} must be a percentage from 0 to 100, e.g. 12.5, not {raw!r}"
        )
    return value


def _rate(name: str, default: str) -> str:
    """A throttle rate the environment gives for ``name`` ("600/min": at least one request
    per second, minute, hour or day; DRF reads the period's first letter), else ``default``.
    DRF reads it at each request: a rate it cannot read would fail every request, so it stops
    the service at start instead."""
    rate = env.str(name, default=default)
    if not re.fullmatch(r"[1-9][0-9]*/[smhd][a-z]*", rate):
        raise environ.ImproperlyConfigured(
            f"{name} must be a rate such as 600/min (per s, min, hour or day), not {rate!r}"
        )
    return rate


def _email_address(name: str, default: str) -> str:
    """A bare email address the environment gives for ``name`` (``billing@example.com``), else
    ``default``; set empty, none. One Django's validator refuses, or holding a character an
    e-invoice cannot carry (it is printed there), stops the service at start naming it."""
    address = env.str(name, default=default).strip()
    if address and (_refused(validate_email, address) or unprintable(address)):
        raise environ.ImproperlyConfigured(
            f"{name} must be an email address such as billing@example.com, not {address!r}"
        )
    return address


def _url_config(
    name: str, parse, default: str, *, needs: str, example: str, empty_is_default: bool = False
) -> dict:
    """The settings the URL the environment gives for ``name`` stands for (``parse``:
    django-environ's ``db_url_config`` or ``email_url_config``), else ``default``'s. Empty is
    the default where ``empty_is_default`` (a key the Kubernetes kit's Secret may leave empty),
    else refused. A URL that cannot be read stops the service at start naming the variable:
    django-environ's own errors named none (``Invalid email schema``, ``KeyError: 'ENGINE'``).
    Read as given, as ``_secret`` reads: a password in it may hold a ``$``."""
    raw = env.ENVIRON.get(name)
    if raw is None or (empty_is_default and not raw.strip()):
        raw = default
    try:
        config = parse(raw)
    except (environ.ImproperlyConfigured, ValueError, KeyError):
        config = {}
    if not config.get(needs):
        shown = "empty" if not raw.strip() else "a URL that cannot be read"
        raise environ.ImproperlyConfigured(f"{name} must be a URL such as {example}, not {shown}")
    return config


def _base_url(name: str, default: str) -> str:
    """The address the environment gives for ``name``, else ``default``: an http or https URL
    of a host (a port if any) and nothing after it (a trailing slash is dropped), or the
    service stops at start naming the variable."""
    url = env.str(name, default=default).strip().removesuffix("/")
    parts = urlsplit(url)
    if (
        _refused(URLValidator(schemes=["http", "https"]), url)
        or "@" in parts.netloc
        or any((parts.path, parts.query, parts.fragment))
    ):
        raise environ.ImproperlyConfigured(
            f"{name} must be an http or https address with no path, such as "
            f"https://edgeplug.example.com, not {url!r}"
        )
    return url


# Domains reserved never to be anyone's (RFC 2606, RFC 6761): mail to or from them goes nowhere.
_RESERVED_MAIL_DOMAINS = ("invalid", "test", "example", "localhost")
_RESERVED_MAIL_NAMES = ("example.com", "example.net", "example.org")


def _reserved_mail_domain(address: str) -> str | None:
    """The reserved domain the email address (``Name <a@b>`` or bare) is in, else None."""
    domain = parseaddr(address)[1].rpartition("@")[2].lower().rstrip(".")
    labels = domain.split(".")
    if labels[-1] in _RESERVED_MAIL_DOMAINS:
        return f".{labels[-1]}"
    tail = ".".join(labels[-2:])
    return tail if tail in _RESERVED_MAIL_NAMES else None


def _refused(validator, value: str) -> bool:
    try:
        validator(value)
    except ValidationError:
        return True
    return False


def _parsed(raw: str, cast: type):
    """``cast(raw)``, or None when ``raw`` is not such a value."""
    try:
        return cast(raw)
    except (ValueError, ArithmeticError):  # Decimal refuses with InvalidOperation
        return None


def _embedded_secret_key(shared_var_dir: bool) -> str:
    """A per-checkout key kept in var/ (never committed) so the embedded default needs no setup.

    Only where every process shares that var/ (``shared_var_dir``): elsewhere (Kubernetes pods,
    each with a var/ of its own) each process would mint a key of its own, and a session or
    JWT made by one would be refused by the next, and everyone signed out at each restart."""
    if not shared_var_dir:
        raise environ.ImproperlyConfigured(
            "SECRET_KEY must be set: every process of a deployment that is not the embedded "
            "default (SQLite) needs the same one, or a session or token signed by one is "
            "refused by the next. Give them all one random value, e.g. from "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(50))'` "
            "(docs/operations.md)."
        )
    return read_or_create(VAR_DIR / "secret_key", generate_secret).strip()


DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# The pod's own address (Kubernetes' downward API, deploy/k8s/base/web.yaml), which no
# ALLOWED_HOSTS can name ahead: Prometheus scrapes each web pod by it (docs/operations.md).
# An IPv6 one in brackets, as a Host header carries it.
if POD_IP := env("POD_IP", default=""):
    ALLOWED_HOSTS.append(f"[{POD_IP}]" if ":" in POD_IP else POD_IP)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Before axes: its lockout-clearing commands are replaced by ones refusing to clear a
    # lockout unaudited (edgeplug/accounts/management/commands/axes_reset*.py).
    "edgeplug.accounts",
    "axes",
    "csp",
    "edgeplug.core",
    "edgeplug.tenancy",
    "edgeplug.audit",
    "edgeplug.health",
    "marketplace",
    "marketplace.portal",
    "certification",
    "billing",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "edgeplug.core.middleware.RequestIdMiddleware",
    "edgeplug.core.middleware.ApiAnswersNotStoredMiddleware",
    "edgeplug.core.middleware.RefuseBodyOfUnknownLengthMiddleware",
    "edgeplug.core.middleware.RefuseUnknownQueryParametersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    # After the session, the user and CSP's nonce: the portal's refusal page is in its frame.
    "edgeplug.core.middleware.RefuseNulInUrlMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "edgeplug.urls"
WSGI_APPLICATION = "edgeplug.wsgi.application"
ASGI_APPLICATION = "edgeplug.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": _url_config(
        "DATABASE_URL",
        env.db_url_config,
        f"sqlite:///{VAR_DIR / 'edgeplug.sqlite3'}",
        needs="ENGINE",
        example="postgres://user:password@host:5432/name (unset: the embedded SQLite)",
    ),
}
_DB_ENGINES = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
DATABASES["default"]["ENGINE"] = _DB_ENGINES.get(
    DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"]
)
if "sqlite" in DATABASES["default"]["ENGINE"]:
    if Path(DATABASES["default"]["NAME"]).is_absolute():  # not :memory:, nor relative to cwd
        owner_only(Path(DATABASES["default"]["NAME"]))  # (until 2026-12-06 world-readable)
    # A file-backed test database lets a real Celery worker process share it with the tests.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_edgeplug.sqlite3")}
    # Several processes (web workers, Celery, beat, commands) write at once: WAL lets readers
    # run beside the writer, IMMEDIATE takes the write lock when a transaction starts (so a
    # transaction never fails half-way upgrading a read lock), and the busy timeout makes a
    # writer wait its turn instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": _number("SQLITE_BUSY_TIMEOUT_S", 30, at_least=1),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# Full stack: each web and worker process keeps its connection for a minute (a new PostgreSQL
# connection per request costs more than most requests), checked before reuse so a restarted
# database costs one failed check, not a failed request. SQLite opens files, not connections.
_persistent = "sqlite" not in DATABASES["default"]["ENGINE"]
DATABASES["default"]["CONN_MAX_AGE"] = _number("DB_CONN_MAX_AGE", 60 if _persistent else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=_persistent)
# Without a connect_timeout psycopg waits 130 s for each address of a database host that takes
# connections and never answers (a hung server, a half-open network), past gunicorn's worker
# timeout. With it a request that opens a connection answers 503 database_unavailable, and
# /ready 503 within its probes' 5 s. psycopg counts whole seconds, at least 2, for each
# address the host resolves to; a connect_timeout in DATABASE_URL wins. A connection already
# open (a persistent one's health check included) is not bounded by it (docs/scaling.md).
DB_CONNECT_TIMEOUT_S = _number("DB_CONNECT_TIMEOUT_S", 3, at_least=2)
if "postgresql" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", DB_CONNECT_TIMEOUT_S
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling counters) --------------------------------------------------------------
# Shared by every process of the deployment, or a rate would hold per process only: Redis on
# the full stack, files under var/ on the embedded default (no server, safe across processes).
# A request goes on without a cache it cannot reach (edgeplug/core/cache_outage.py); one
# that does not answer counts as unreachable after CACHE_TIMEOUT_S (redis-py's default is 5 s,
# and a request makes several cache calls). django-redis reads these OPTIONS in upper case
# only, and drops a 0 for that default.
REDIS_URL = _secret("REDIS_URL")
CACHE_TIMEOUT_S = _seconds("CACHE_TIMEOUT_S", 1.0)
# /ready (edgeplug/health/checks.py): how long the cache, broker and storage checks may take
# before a part is reported as not answering; below the probes' timeoutSeconds (5 s).
READY_CHECK_TIMEOUT_S = _seconds("READY_CHECK_TIMEOUT_S", 2.0)
# /metrics answers a scrape presenting "Authorization: Bearer <METRICS_TOKEN>" only
# (edgeplug/health/metrics_access.py, docs/operations.md). Unset, it answers anyone only where
# METRICS_OPEN_WITHOUT_TOKEN says so: DEBUG by default, and `make run` (scripts/run.sh sets it
# for its server on 127.0.0.1); any other process answers 403 metrics_not_configured and warns
# at start. Not the database: the container image on SQLite serves on 0.0.0.0.
METRICS_TOKEN = _secret("METRICS_TOKEN")
METRICS_OPEN_WITHOUT_TOKEN = env.bool("METRICS_OPEN_WITHOUT_TOKEN", default=DEBUG)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="edgeplug"),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": CACHE_TIMEOUT_S,
                "SOCKET_TIMEOUT": CACHE_TIMEOUT_S,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # Culling drops a third of the entries at random, throttle counters included:
            # keep it for real overflow only.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# The public agent catalogue (marketplace/catalogue_cache.py): how long an unused entry is
# kept. Entries are invalidated when what customers see changes; 0 disables the cache.
CATALOGUE_CACHE_SECONDS = _number("CATALOGUE_CACHE_SECONDS", 300)

# --- Storage ----------------------------------------------------------------------------------
STORAGE = env("STORAGE", default="filesystem")
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# S3 calls are bounded so that an endpoint that hangs answers a request storage_unavailable
# (marketplace/storage.py) before gunicorn's worker timeout kills it (30 s by default, 60 s in
# deploy/k8s): botocore's own defaults wait 60 s to connect and 60 s a read, 3 times. This
# client_config is the whole botocore configuration: S3Storage's own (AWS_S3_ADDRESSING_STYLE,
# AWS_S3_SIGNATURE_VERSION, AWS_S3_PROXIES) and the AWS_MAX_ATTEMPTS and AWS_RETRY_MODE
# variables are not read; add such a setting here.
S3_CONNECT_TIMEOUT_S = _seconds("S3_CONNECT_TIMEOUT_S", 5.0)
S3_READ_TIMEOUT_S = _seconds("S3_READ_TIMEOUT_S", 5.0)
S3_MAX_ATTEMPTS = _number("S3_MAX_ATTEMPTS", 3, at_least=1)
if STORAGE == "s3":
    from botocore.config import Config as _S3Config

    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("S3_BUCKET"),
            "endpoint_url": env("S3_ENDPOINT_URL", default=None),
            "region_name": env("S3_REGION", default="us-east-1"),
            "access_key": _secret("AWS_ACCESS_KEY_ID") or None,
            "secret_key": _secret("AWS_SECRET_ACCESS_KEY") or None,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "client_config": _S3Config(
                connect_timeout=S3_CONNECT_TIMEOUT_S,
                read_timeout=S3_READ_TIMEOUT_S,
                retries={"total_max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"},
            ),
        },
    }
elif STORAGE == "filesystem":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
else:
    raise environ.ImproperlyConfigured(f"STORAGE must be 'filesystem' or 's3', not {STORAGE!r}")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"

# --- Agent packages: caps on what one upload may cost (see docs/package-format.md) -----------
PACKAGE_LIMITS = {
    "max_package_bytes": _number("PACKAGE_MAX_BYTES", 64 * 1024 * 1024, at_least=1),
    "max_entries": _number("PACKAGE_MAX_ENTRIES", 32, at_least=1),
    "max_total_uncompressed_bytes": _number(
        "PACKAGE_MAX_UNCOMPRESSED_BYTES", 256 * 1024 * 1024, at_least=1
    ),
    "max_compression_ratio": _number("PACKAGE_MAX_COMPRESSION_RATIO", 100, at_least=1),
    "max_manifest_bytes": _number("PACKAGE_MAX_MANIFEST_BYTES", 64 * 1024, at_least=1),
    "max_string_length": _number("PACKAGE_MAX_STRING_LENGTH", 4096, at_least=1),
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
WPK_MAX_BYTES = _number("WPK_MAX_BYTES", 256 * 1024, at_least=1)

# --- Certification ----------------------------------------------------------------------------
# Platform signing keys (certification/platform_keys.py documents the JSON); never in the repo.
PLATFORM_SIGNING_KEYS = _secret("PLATFORM_SIGNING_KEYS")
PLATFORM_SIGNING_KEYS_FILE = env("PLATFORM_SIGNING_KEYS_FILE", default="")
# With neither, only the embedded default (SQLite) generates its ring into var/, on its first
# start: any other database is a deployment whose processes must share one configured ring,
# and the certification app's system check refuses to start without it (docs/operations.md).
# PLATFORM_SIGNING_KEYS_GENERATE=true lets one host whose processes all share one var/ (docker
# compose's volume, a benchmark's stack) generate it too; never while the database holds
# certificates of keys the ring lacks.
PLATFORM_SIGNING_KEYS_GENERATE = env.bool(
    "PLATFORM_SIGNING_KEYS_GENERATE", default="sqlite" in DATABASES["default"]["ENGINE"]
)
# SECRET_KEY (browser sessions; JWTs unless JWT_SIGNING_KEY) must be the
# same in every process: with none set, it is generated into var/ on the same terms as the key
# ring, where every process shares var/; any other deployment stops at start asking for it.
SECRET_KEY = _secret("SECRET_KEY") or _embedded_secret_key(PLATFORM_SIGNING_KEYS_GENERATE)
# Earlier SECRET_KEYs, comma-separated, still accepted for what they signed: rotating
# SECRET_KEY with the old one here keeps browser sessions valid (signed anew on their next
# request); drop it once those have come back or expired. A JWT is
# checked with JWT_SIGNING_KEY (SECRET_KEY unless set) only (docs/operations.md).
SECRET_KEY_FALLBACKS = [
    key.strip() for key in _secret("SECRET_KEY_FALLBACKS").split(",") if key.strip()
]
# Runs still queued or running after this long are marked as errors by the sweeper.
CERTIFICATION_RUN_TIMEOUT_S = _number("CERTIFICATION_RUN_TIMEOUT_S", 2 * 3600, at_least=1)
# An OSV import still running that has committed no batch for this long is closed as failed
# (import_stalled): its process died. A live one commits a batch every few seconds.
OSV_IMPORT_STALL_TIMEOUT_S = _number("OSV_IMPORT_STALL_TIMEOUT_S", 30 * 60, at_least=1)
SIMULATION_BACKEND = env("SIMULATION_BACKEND", default="qemu")
RENODE_BINARY = env("RENODE_BINARY", default="renode")
QEMU_PLUGIN_PATH = env(
    "QEMU_PLUGIN_PATH",
    default=str(BASE_DIR / "certification" / "qemu_plugin" / "build" / "libinsn_count.so"),
)

# --- Celery -----------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
# The filesystem transport ignores the host; naming one keeps kombu from warning in every
# process that it "reverts to the default 'localhost'".
CELERY_BROKER_URL = _secret("CELERY_BROKER_URL", REDIS_URL or "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    (VAR_DIR / "results").mkdir(exist_ok=True)
    _default_result_backend = f"file://{VAR_DIR / 'results'}"
else:
    _default_result_backend = REDIS_URL or CELERY_BROKER_URL
CELERY_RESULT_BACKEND = _secret("CELERY_RESULT_BACKEND", _default_result_backend)
# With Redis down, a submit must answer 503 broker_unavailable in about a second, not hang:
# Celery's defaults retry the result backend's connection 20 times a second apart (delay()
# subscribes to the result first) and the publish three more times. A few short retries still
# ride out a Redis restart or failover blip; a longer outage is the caller's to retry.
_REDIS_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = _REDIS_RETRY_POLICY
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": _REDIS_RETRY_POLICY}
# A task a worker took but never acknowledged (acks are late: the worker was SIGKILLed, its
# machine lost) goes back to the Redis queue this many seconds after it was delivered, and
# another worker runs it. It must exceed the longest a live worker holds a task: a stage's
# hard time limit (certification/tasks.py, 660 s) and the longest retry countdown
# (edgeplug.core.retries.RETRY_WAIT_MAX_S, 600 s), or a task still running or waiting for its
# retry would be delivered a second time (harmless for a stage, which records once; a payment
# notice would be emailed twice). Workers look for such tasks every few seconds and when they
# start. A look holds a Redis lock for milliseconds; a worker killed while holding it leaves
# it held until it expires (kombu's default: 300 s, during which no worker restores
# anything), so it expires after a quarter of the timeout, at most 60 s (two workers
# restoring at once is harmless: each message is restored in a WATCHed transaction).
CELERY_VISIBILITY_TIMEOUT_S = _number("CELERY_VISIBILITY_TIMEOUT_S", 900, at_least=1)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 10,
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT_S,
        "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT_S // 4)),
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": max(2, min(60, CELERY_VISIBILITY_TIMEOUT_S // 4)),
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = False
# One queue per kind of work, each with its own worker Deployment (deploy/k8s/, -Q): certification
# stages (long, CPU-bound, emulator subprocesses) never delay the short periodic jobs; the
# hardware simulation (emulators: QEMU or Renode per board) scales apart from the other stages;
# billing (month close, Stripe collection) never waits behind a certification backlog; email
# (SMTP, retried for hours) never holds anyone. A worker started without -Q consumes every
# queue listed here, which keeps the embedded default and the test worker whole.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [
    Queue(name) for name in ("default", "certification", "simulation", "billing", "email")
]
# An exact name or a longer pattern is listed first: Celery takes the first route that
# matches. The sweeper must run while certification workers are busy. The simulation stage
# is the certification stage task sent to the simulation queue by the canvas
# (certification/pipeline/canvas.py), since the route cannot see a task's arguments.
CELERY_TASK_ROUTES = {
    "certification.tasks.sweep_stale_runs": {"queue": "default"},
    "certification.tasks.expire_lapsed_certifications": {"queue": "default"},
    "certification.vulndb.fail_stalled_imports": {"queue": "default"},
    "billing.tasks.fail_stalled_pdf_archives": {"queue": "default"},
    "certification.*": {"queue": "certification"},
    "billing.tasks.email_invoice": {"queue": "email"},
    "billing.tasks.send_payment_notice": {"queue": "email"},
    "billing.*": {"queue": "billing"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")


def _every(task: str, **interval: float) -> dict:
    """A beat entry: run ``task`` every ``timedelta(**interval)``."""
    return {"task": task, "schedule": timedelta(**interval)}


CELERY_BEAT_SCHEDULE = {
    "flush-expired-tokens": _every("edgeplug.accounts.tasks.flush_expired_tokens", hours=6),
    # Sessions of people who closed the tab without signing out (Django's clearsessions).
    "clear-expired-sessions": _every("edgeplug.accounts.tasks.clear_expired_sessions", hours=6),
    # The embedded default's file cache keeps an expired entry's file until its key is read
    # again (edgeplug/core/file_cache.py); nothing to do on Redis.
    "remove-expired-cache-entries": _every(
        "edgeplug.core.tasks.remove_expired_cache_entries", hours=1
    ),
    "sweep-stale-certification-runs": _every("certification.tasks.sweep_stale_runs", minutes=5),
    "expire-lapsed-certifications": _every(
        "certification.tasks.expire_lapsed_certifications", minutes=15
    ),
    "fail-stalled-osv-imports": _every("certification.vulndb.fail_stalled_imports", minutes=5),
    # A finance PDF archive whose worker stopped is failed, its page saying to ask again.
    "fail-stalled-pdf-archives": _every("billing.tasks.fail_stalled_pdf_archives", minutes=5),
    # Finance PDF archives' files past BILLING_PDF_ARCHIVE_RETENTION_DAYS.
    "delete-expired-pdf-archives": _every("billing.tasks.delete_expired_pdf_archives", hours=1),
    "expire-entitlements": _every("marketplace.tasks.expire_entitlements", minutes=15),
    "maintain-usage-partitions": _every("billing.tasks.maintain_usage_partitions", hours=6),
    # Idempotent: each run closes the previous UTC month (drafts refreshed while in grace), after
    # any earlier month no close has drafted (BILLING_CLOSE_CATCH_UP_MONTHS, docs/billing.md).
    "close-billing-month": _every("billing.tasks.close_previous_month", hours=1),
    "finalize-due-invoices": _every("billing.tasks.finalize_due_invoices", minutes=15),
    # Dunning: charges the invoices whose next payment attempt is due (docs/billing.md).
    "retry-due-invoice-payments": _every("billing.tasks.retry_due_invoice_payments", minutes=15),
    # A charge whose webhook is lost: its PaymentIntent asked for again (docs/billing.md).
    "reconcile-awaited-payments": _every("billing.tasks.reconcile_awaited_payments", minutes=30),
    # A finalized invoice whose first charge or email was lost (a broker or processor outage
    # at finalize) gets them after BILLING_FIRST_CHARGE_GRACE_MINUTES (docs/billing.md).
    "collect-missed-first-charges": _every(
        "billing.tasks.collect_missed_first_charges", minutes=15
    ),
    # The same for an attempt on a new default card whose task was lost (docs/billing.md).
    "collect-missed-new-card-charges": _every(
        "billing.tasks.collect_missed_new_card_charges", minutes=15
    ),
    "email-missed-invoices": _every("billing.tasks.email_missed_invoices", minutes=15),
    # A credit note's card refund whose task gave up (the processor down) is made again.
    "retry-credit-note-refunds": _every("billing.tasks.retry_credit_note_refunds", hours=1),
    # A card refund that failed later whose webhook was lost (docs/billing.md).
    "recheck-card-refunds": _every("billing.tasks.recheck_card_refunds", hours=6),
}

# --- Auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"
# A part of the site whose 404 is a page of its own, by path prefix (an /api/ path answers
# JSON; the rest templates/404.html): edgeplug.core.error_views.page_not_found.
NOT_FOUND_PAGES = {"/portal/": "marketplace.portal.access.not_found_page"}
# The same for a form sent with a stale CSRF token (edgeplug.core.error_views.csrf_failure).
CSRF_FAILURE_PAGES = {"/portal/": "marketplace.portal.access.csrf_failure_page"}
# The same for a domain error a plain view refuses with (edgeplug.core.error_views.refusal).
REFUSAL_PAGES = {"/portal/": "marketplace.portal.access.refusal_page"}
# The same for a 403 outside the API (edgeplug.core.error_views.permission_denied).
PERMISSION_DENIED_PAGES = {"/admin/": "edgeplug.accounts.admin_site.permission_denied_page"}
CSRF_FAILURE_VIEW = "edgeplug.core.error_views.csrf_failure"

AXES_FAILURE_LIMIT = _number("LOGIN_FAILURE_LIMIT", 5, at_least=1)
AXES_COOLOFF_TIME = timedelta(minutes=_number("LOGIN_LOCKOUT_MINUTES", 15, at_least=1))
# Keyed by account AND client address, so nobody can lock a user out from elsewhere; an
# address is also stopped after LOGIN_ADDRESS_FAILURE_LIMIT failures over all accounts
# (password spraying). docs/security.md describes the policy.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_ADDRESS_FAILURE_LIMIT = _number("LOGIN_ADDRESS_FAILURE_LIMIT", 50, at_least=1)
AXES_USERNAME_CALLABLE = "edgeplug.accounts.lockout.username_from_credentials"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "edgeplug.accounts.lockout.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_HANDLER = "edgeplug.accounts.lockout.AccountAndAddressHandler"
AXES_VERBOSE = False
# The client address (lockout, throttles, audit): edgeplug.audit.services.client_ip.
AXES_CLIENT_IP_CALLABLE = "edgeplug.audit.services.client_ip"
# Proxies in front of the app that append the address they were reached from to
# X-Forwarded-For (an ingress: 1). 0: the TCP peer is the client.
TRUSTED_PROXY_HOPS = _number("TRUSTED_PROXY_HOPS", 0)

OTP_TOTP_ISSUER = "EdgePlug"
# The admin never shows a device's key or QR code (edgeplug/accounts/admin.py also refuses
# those pages and adding or changing a device there).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=_number("JWT_ACCESS_MINUTES", 5, at_least=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=_number("JWT_REFRESH_DAYS", 1, at_least=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": _secret("JWT_SIGNING_KEY", SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "LEEWAY": 0,
    # Every token carries a digest of the user's password hash as it was at sign-in; a request,
    # a refresh and a gRPC call with one signed before a password change is 401
    # password_changed (docs/security.md). Tokens without it (before 2026-12-06) are too.
    "CHECK_REVOKE_TOKEN": True,
    "REVOKE_TOKEN_CLAIM": "hash_password",
}

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "edgeplug.accounts.authentication.TenantJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "edgeplug.core.parsers.BoundedJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    # JSON only (and a view's own file or CSV types): no HTML API pages, whose errors were HTML.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "edgeplug.core.negotiation.ContentNegotiation",
    "DEFAULT_METADATA_CLASS": "edgeplug.core.metadata.RequestBodyMetadata",
    "DEFAULT_PAGINATION_CLASS": "edgeplug.core.pagination.DefaultPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "edgeplug.core.filters.FilterBackend",
        # A NUL in ?ordering= (which DRF would drop as an unknown term) is refused before
        # any view, as in every URL: edgeplug.core.middleware.RefuseNulInUrlMiddleware.
        "edgeplug.core.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "edgeplug.core.throttling.AnonThrottle",
        "edgeplug.core.throttling.UserThrottle",
        "edgeplug.core.throttling.TenantThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": _rate("THROTTLE_ANON", "60/min"),
        "user": _rate("THROTTLE_USER", "600/min"),
        "tenant": _rate("THROTTLE_TENANT", "3000/min"),
        "auth": _rate("THROTTLE_AUTH", "20/min"),
        # Usage reports per device token (REST requests and gRPC batches alike).
        "device": _rate("THROTTLE_DEVICE", "600/min"),
    },
    "EXCEPTION_HANDLER": "edgeplug.core.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "edgeplug.core.schema.ErrorDocumentingAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_MAX_JSON_BYTES = _number("API_MAX_JSON_BYTES", 1024 * 1024, at_least=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_JSON_BYTES

SPECTACULAR_SETTINGS = {
    "TITLE": "EdgePlug API",
    "DESCRIPTION": "Marketplace and certification service for edge AI agents.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Our PATCH endpoints take a complete small serializer (e.g. {"role"}), not a partial one.
    "COMPONENT_SPLIT_PATCH": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "edgeplug.core.schema.forbid_nul_in_strings",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ReviewStatusEnum": "marketplace.models.ReviewStatus",
        "CertificationStatusEnum": "marketplace.models.CertificationStatus",
        "CertificationLevelEnum": "certification.models.Level",
        "RunStatusEnum": "certification.models.RunStatus",
        "StageResultEnum": "certification.models.StageResult",
        "StageStateEnum": "certification.models.STAGE_STATES",
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        "InvoiceKindEnum": "billing.models.InvoiceKind",
        "InvoiceLineKindEnum": "billing.models.LineKind",
        "PlanKindEnum": "marketplace.models.PlanKind",
    },
}

# --- Security headers and cookies ---------------------------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# SecurityMiddleware only sends HSTS on requests that arrived over HTTPS.
SECURE_HSTS_SECONDS = _number("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Swagger UI and the admin set inline style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- Email ------------------------------------------------------------------------------------
EMAIL_CONFIG = _url_config(
    "EMAIL_URL",
    env.email_url_config,
    "consolemail://",
    needs="EMAIL_BACKEND",
    example="smtp+tls://user:password@host:587 (unset or empty: printed, consolemail://)",
    empty_is_default=True,
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="EdgePlug <noreply@edgeplug.invalid>")
# The service's address as its users reach it (behind the ingress or proxy): links in emails
# are made from it (edgeplug.public_urls), as a mail has no request to take a host from.
# The default is `make run`'s.
PUBLIC_BASE_URL = _base_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# Seconds to wait for the mail server at each step (connect, each reply) before giving up and
# retrying later (Django's default waits forever). An invoice's email is sent with the invoice
# row locked (billing/invoice_emails.py): a mail server that stops answering must not hold its
# charge, its webhooks or finance's void behind it for long.
EMAIL_TIMEOUT = _number("EMAIL_TIMEOUT_S", 30, at_least=1)

# --- Stripe (used by billing) -------------------------------------------------------------------
STRIPE_API_KEY = _secret("STRIPE_API_KEY")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_WEBHOOK_SECRET = _secret("STRIPE_WEBHOOK_SECRET")
# A webhook that waits longer than this for a locked order answers 503 and Stripe retries.
STRIPE_WEBHOOK_LOCK_TIMEOUT_MS = _number("STRIPE_WEBHOOK_LOCK_TIMEOUT_MS", 5000, at_least=1)
# Seconds Stripe may take to connect or to answer before a call counts as "could not be
# reached" (the SDK's own default is 80). A call is tried three times (two network retries)
# and a web request waits for all of them: keep 3 x this plus the SDK's backoff (under 2 s)
# under gunicorn's 30 s worker timeout, or the worker is killed before it can answer 502.
STRIPE_TIMEOUT_S = _seconds("STRIPE_TIMEOUT_S", 8.0)

# --- Usage metering (used by billing) -----------------------------------------------------------
# Events that started longer ago than this are refused as too_late (the billing period closed).
USAGE_LATE_DAYS = _number("USAGE_LATE_DAYS", 35, at_least=1)
# Events that end further ahead than this are refused as in_future (device clock skew).
USAGE_FUTURE_SKEW_S = _number("USAGE_FUTURE_SKEW_S", 300)
# Raw events are kept this long (whole months: a month goes once all of it is this old);
# rollups are kept forever. At least USAGE_LATE_DAYS, so no accepted event lands in a month
# already dropped.
USAGE_RAW_RETENTION_DAYS = _number("USAGE_RAW_RETENTION_DAYS", 400, at_least=1)
if USAGE_RAW_RETENTION_DAYS < USAGE_LATE_DAYS:
    raise environ.ImproperlyConfigured("USAGE_RAW_RETENTION_DAYS must be at least USAGE_LATE_DAYS")
# On PostgreSQL the beat job keeps this many monthly partitions ready after the current one.
USAGE_PARTITIONS_AHEAD = _number("USAGE_PARTITIONS_AHEAD", 3, at_least=1)
# The most rows a usage report (GET /api/v1/usage, /vendor/usage) answers in one response:
# beyond it, 400 report_too_large (a year by day and device for 130 devices fits).
USAGE_REPORT_MAX_ROWS = _number("USAGE_REPORT_MAX_ROWS", 50_000, at_least=1)

# --- Invoicing (docs/billing.md) ----------------------------------------------------------------
# Drafts take adjustment lines for this many days after their month ends, then finalize.
BILLING_GRACE_DAYS = _number("BILLING_GRACE_DAYS", 3)
# How many earlier months a close searches for late usage. It must reach every month metering
# still accepts events of (USAGE_LATE_DAYS): an event accepted later than that would be stored
# and never billed. From a month's last second, USAGE_LATE_DAYS crosses at most
# 1 + USAGE_LATE_DAYS // 28 month starts (the default 35 days: 2).
BILLING_LATE_USAGE_MONTHS = _number("BILLING_LATE_USAGE_MONTHS", 2, at_least=1)
if BILLING_LATE_USAGE_MONTHS < 1 + USAGE_LATE_DAYS // 28:
    raise environ.ImproperlyConfigured(
        f"BILLING_LATE_USAGE_MONTHS must be at least {1 + USAGE_LATE_DAYS // 28} for "
        f"USAGE_LATE_DAYS={USAGE_LATE_DAYS}, or usage accepted late would never be billed"
    )
# The hourly close also closes each ended month of this many (the month that has just ended
# included) that no close has drafted yet, oldest first: beat or the billing worker was down for
# all of the month after it. A month missed longer ago is left to `manage.py close_month`.
# Late usage is billed only for a month closed, so it must reach each month a close searches
# for late usage (BILLING_LATE_USAGE_MONTHS before the month it closes).
BILLING_CLOSE_CATCH_UP_MONTHS = _number("BILLING_CLOSE_CATCH_UP_MONTHS", 12, at_least=1)
if BILLING_CLOSE_CATCH_UP_MONTHS < BILLING_LATE_USAGE_MONTHS + 1:
    raise environ.ImproperlyConfigured(
        f"BILLING_CLOSE_CATCH_UP_MONTHS must be at least {BILLING_LATE_USAGE_MONTHS + 1} for "
        f"BILLING_LATE_USAGE_MONTHS={BILLING_LATE_USAGE_MONTHS}, or the hours of a month missed "
        "that long ago would be billed neither as its own nor as late usage"
    )
# Dunning: after a failed charge, retry this many days after the first failure (ascending);
# when the last retry fails the invoice is uncollectible and the tenant's entitlements suspended.
BILLING_DUNNING_DAYS = [
    _parsed(day, int) for day in env.list("BILLING_DUNNING_DAYS", default=["1", "3", "7"])
]
if (
    None in BILLING_DUNNING_DAYS
    or sorted(set(BILLING_DUNNING_DAYS)) != BILLING_DUNNING_DAYS
    or any(day < 1 for day in BILLING_DUNNING_DAYS)
):
    raise environ.ImproperlyConfigured(
        "BILLING_DUNNING_DAYS must be ascending whole days >= 1, e.g. 1,3,7, not "
        f"{env.str('BILLING_DUNNING_DAYS', default='')!r}"
    )
# A finalized invoice's first charge and its email are queued when the finalize commits; one
# still not made this many minutes after finalize (its task lost: the broker down at commit,
# the processor down for all the task's retries) is made by the beat jobs
# collect-missed-first-charges and email-missed-invoices (CELERY_BEAT_SCHEDULE). So is an
# attempt on a new default card this long after it was queued (collect-missed-new-card-charges).
BILLING_FIRST_CHARGE_GRACE_MINUTES = _number("BILLING_FIRST_CHARGE_GRACE_MINUTES", 15, at_least=1)
# The seller's billing mailbox: where replies to invoice emails and payment notices go
# (their Reply-To; the sender, DEFAULT_FROM_EMAIL, is often a no-reply address) and the seller's
# electronic address in the e-invoice. Empty: no Reply-To, no address.
BILLING_SELLER_EMAIL = _email_address("BILLING_SELLER_EMAIL", "billing@edgeplug.invalid")
# The seller printed on every invoice, copied into each invoice at finalize (its emails under
# the key a buyer's are, which the invoice document reads for both).
BILLING_SELLER = {
    "legal_name": env("BILLING_SELLER_NAME", default="EdgePlug GmbH"),
    "address_line1": env("BILLING_SELLER_ADDRESS", default="Musterstrasse 1"),
    "address_line2": "",
    "postcode": env("BILLING_SELLER_POSTCODE", default="10115"),
    "city": env("BILLING_SELLER_CITY", default="Berlin"),
    "country": env("BILLING_SELLER_COUNTRY", default="DE"),
    "tax_id": env("BILLING_SELLER_TAX_ID", default="DE000000000"),
    "invoice_emails": [BILLING_SELLER_EMAIL] if BILLING_SELLER_EMAIL else [],
}
# Mail sent through an SMTP server leaves the machine: a sender (or Reply-To) in a domain
# reserved never to exist or receive mail, as the embedded default's placeholders and the
# deployment kit's examples are, is refused by receiving servers and replies to it bounce.
# Console, file and memory backends keep mail on the machine: the placeholders do there.
if EMAIL_CONFIG["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
    for _name, _address in (
        ("DEFAULT_FROM_EMAIL", DEFAULT_FROM_EMAIL),
        ("BILLING_SELLER_EMAIL", BILLING_SELLER_EMAIL),
    ):
        if _domain := _reserved_mail_domain(_address):
            raise environ.ImproperlyConfigured(
                f"{_name} is {_address!r}, in {_domain}, a domain reserved never to receive "
                "mail (RFC 2606): with an SMTP EMAIL_URL, receiving servers refuse such mail "
                f"and replies to it bounce. Set {_name} to an address of your own domain."
            )

# --- Finance (docs/billing.md, "Finance") --------------------------------------------------------
# The platform's share of what customers pay for a vendor's agents, in percent (Decimal).
PLATFORM_FEE_PERCENT = _percent("PLATFORM_FEE_PERCENT", "20")
# Payment terms: an invoice is due this many days after its issue date (the due date its
# documents print, Invoice.due_date); still unpaid the day after, it is overdue.
BILLING_PAYMENT_TERMS_DAYS = _number("BILLING_PAYMENT_TERMS_DAYS", 14)
# Rows fetched per database round trip by the streamed exports.
BILLING_EXPORT_CHUNK_SIZE = _number("BILLING_EXPORT_CHUNK_SIZE", 500, at_least=1)
# Days a finance PDF archive's ZIP is kept after it was built; then the hourly beat job
# delete-expired-pdf-archives deletes it (billing.pdf_archives.expired).
BILLING_PDF_ARCHIVE_RETENTION_DAYS = _number("BILLING_PDF_ARCHIVE_RETENTION_DAYS", 7, at_least=1)

# --- gRPC server (manage.py grpcserver) -----------------------------------------------------------
GRPC_ADDRESS = env("GRPC_ADDRESS", default="127.0.0.1:50051")
GRPC_MAX_WORKERS = _number("GRPC_MAX_WORKERS", 8, at_least=1)
# Server processes sharing the port, each with GRPC_MAX_WORKERS threads (and as many database
# connections). One process runs Python on one core at a time: on a machine of its own, give
# it the machine's cores (docker compose: 2); Kubernetes runs one per pod and adds pods.
GRPC_PROCESSES = _number("GRPC_PROCESSES", 1, at_least=1)
# TLS when both are set (PEM files); plaintext otherwise (behind a TLS-terminating proxy).
GRPC_TLS_CERT_FILE = env("GRPC_TLS_CERT_FILE", default="")
GRPC_TLS_KEY_FILE = env("GRPC_TLS_KEY_FILE", default="")
# Each entry registers its servicers on the server and returns their full service names.
GRPC_SERVICERS = ["billing.grpc_usage.register", "certification.grpc_watch.register"]
# A call of one request message (UsageService.ReportBatch, CertificationService.WatchRun) waits
# at most this long for it once its caller is checked, holding a worker thread meanwhile;
# then it ends DEADLINE_EXCEEDED request_timeout. A batch of 1,000 events is about 43 kB.
GRPC_REQUEST_WAIT_S = _seconds("GRPC_REQUEST_WAIT_S", 30.0)
# CertificationService.WatchRun reads the run this often, and at most this many watches run
# at once (each holds a worker thread; more are refused RESOURCE_EXHAUSTED).
GRPC_WATCH_POLL_S = _seconds("GRPC_WATCH_POLL_S", 1.0)
# Fewer than the server's threads, so watches never hold every thread the usage reports need:
# by default 4, or one less than GRPC_MAX_WORKERS when that is 4 or below (1 thread: 0,
# every watch refused).
GRPC_MAX_WATCHES = _number("GRPC_MAX_WATCHES", min(4, GRPC_MAX_WORKERS - 1))
# UsageService.Report streams open at once (each holds a thread while its device keeps it
# open, sending or not; more are refused RESOURCE_EXHAUSTED): by default half the threads the
# watches leave, so streams never hold those that ReportBatch and the health check need.
GRPC_MAX_REPORT_STREAMS = _number(
    "GRPC_MAX_REPORT_STREAMS", (GRPC_MAX_WORKERS - GRPC_MAX_WATCHES) // 2
)
# Of those, at most this many are one tenant's devices' (by default half, at least one), so
# one tenant cannot hold every stream; a device holds one at most (its new stream replaces
# its older one).
GRPC_MAX_REPORT_STREAMS_PER_TENANT = _number(
    "GRPC_MAX_REPORT_STREAMS_PER_TENANT", max(1, GRPC_MAX_REPORT_STREAMS // 2), at_least=1
)
# An open Report stream that sends nothing checks its device again this often, so a device
# revoked (its token rotated, its tenant deactivated) does not keep a stream's slot.
GRPC_STREAM_CHECK_S = _seconds("GRPC_STREAM_CHECK_S", 5.0)
if GRPC_MAX_WATCHES + GRPC_MAX_REPORT_STREAMS >= GRPC_MAX_WORKERS:
    raise environ.ImproperlyConfigured(
        f"GRPC_MAX_WATCHES ({GRPC_MAX_WATCHES}) and GRPC_MAX_REPORT_STREAMS "
        f"({GRPC_MAX_REPORT_STREAMS}) must together be less than GRPC_MAX_WORKERS "
        f"({GRPC_MAX_WORKERS}), or watches and streams could hold every thread that batches "
        "and the health check need"
    )
if max(1, GRPC_MAX_REPORT_STREAMS) < GRPC_MAX_REPORT_STREAMS_PER_TENANT:
    raise environ.ImproperlyConfigured(
        f"GRPC_MAX_REPORT_STREAMS_PER_TENANT ({GRPC_MAX_REPORT_STREAMS_PER_TENANT}) must be at "
        f"most GRPC_MAX_REPORT_STREAMS ({GRPC_MAX_REPORT_STREAMS}), the streams of every tenant"
    )

# --- i18n / time ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# The site ships in English alone (no translations of its own, no LocaleMiddleware): the
# languages it offers, which the schema's ?lang= takes (not Django's hundred-odd).
LANGUAGES = [("en", "English")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Date-times print with their zone ("Dec. 2, 2026, 7:33 a.m. UTC"): edgeplug/formats.
FORMAT_MODULE_PATH = ["edgeplug.formats"]

# --- Logging: JSON lines with the request id -----------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "edgeplug.core.logging.RequestIdFilter"},
        "unread_request": {"()": "edgeplug.core.logging.UnreadRequestIsAWarning"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        # Invoice rendering: WeasyPrint logs every layout step and factur-x every check at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "factur-x": {"level": "WARNING"},
        # A request too large to read is a refusal (400/413), not an error: one WARNING line.
        **{f"django.security.{name}": {"filters": ["unread_request"]} for name in UNREAD_REQUESTS},
    },
}
