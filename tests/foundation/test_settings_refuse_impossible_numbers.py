"""A number an operator sets that the service cannot work with stops it at start, naming the
variable, what it holds and what it must be: an EMAIL_TIMEOUT_S of 0 made every invoice email
fail at once (a socket timeout of 0 does not wait), a GRPC_PROCESSES of "two" ended in
"invalid literal for int()" without naming the variable, a timeout of "nan" was taken, a
platform fee of 150 % or a throttle rate of "sixty/min" failed only later, at each payout or
request."""

import pytest

from tests.processes import python_with_settings

SHOW = "from django.conf import settings; print(settings.{name})"


@pytest.mark.parametrize(
    ("variable", "value", "refusal"),
    [
        ("EMAIL_TIMEOUT_S", "0", "EMAIL_TIMEOUT_S must be a whole number of at least 1, not '0'"),
        ("GRPC_PROCESSES", "two", "GRPC_PROCESSES must be a whole number of at least 1, not 'two'"),
        ("PACKAGE_MAX_BYTES", "-1", "PACKAGE_MAX_BYTES must be a whole number of at least 1"),
        ("USAGE_PARTITIONS_AHEAD", "1.5", "USAGE_PARTITIONS_AHEAD must be a whole number"),
        ("TRUSTED_PROXY_HOPS", "-1", "TRUSTED_PROXY_HOPS must be a whole number of at least 0"),
        ("STRIPE_TIMEOUT_S", "0", "STRIPE_TIMEOUT_S must be a number of seconds above 0, not '0'"),
        ("CACHE_TIMEOUT_S", "nan", "CACHE_TIMEOUT_S must be a number of seconds above 0"),
        ("GRPC_WATCH_POLL_S", "inf", "GRPC_WATCH_POLL_S must be a number of seconds above 0"),
        ("USAGE_RAW_RETENTION_DAYS", "20", "USAGE_RAW_RETENTION_DAYS must be at least USAGE_LATE"),
        ("BILLING_DUNNING_DAYS", "1,3,x", "BILLING_DUNNING_DAYS must be ascending whole days"),
        ("PLATFORM_FEE_PERCENT", "abc", "PLATFORM_FEE_PERCENT must be a percentage from 0 to"),
        ("PLATFORM_FEE_PERCENT", "150", "PLATFORM_FEE_PERCENT must be a percentage from 0 to"),
        ("PLATFORM_FEE_PERCENT", "NaN", "PLATFORM_FEE_PERCENT must be a percentage from 0 to"),
        ("THROTTLE_ANON", "sixty/min", "THROTTLE_ANON must be a rate such as 600/min"),
        ("THROTTLE_DEVICE", "0/min", "THROTTLE_DEVICE must be a rate such as 600/min"),
        ("DB_CONNECT_TIMEOUT_S", "1", "DB_CONNECT_TIMEOUT_S must be a whole number of at least 2"),
        # Late usage is billed only for a month closed: the catch-up must reach each month a
        # close searches for it (BILLING_LATE_USAGE_MONTHS, 2, before the month closed).
        ("BILLING_CLOSE_CATCH_UP_MONTHS", "2", "BILLING_CLOSE_CATCH_UP_MONTHS must be at least 3"),
        ("GRPC_MAX_WATCHES", "8", "GRPC_MAX_WATCHES (8) and GRPC_MAX_REPORT_STREAMS (0) must"),
        ("GRPC_MAX_REPORT_STREAMS", "4", "GRPC_MAX_WATCHES (4) and GRPC_MAX_REPORT_STREAMS (4)"),
        ("GRPC_MAX_REPORT_STREAMS_PER_TENANT", "0", "GRPC_MAX_REPORT_STREAMS_PER_TENANT must be"),
        ("GRPC_MAX_REPORT_STREAMS_PER_TENANT", "3", "GRPC_MAX_REPORT_STREAMS_PER_TENANT (3) must"),
        # A URL django-environ cannot read: its own errors named no variable ("Invalid email
        # schema", a bare KeyError: 'ENGINE'). Set empty, the database is no default: a pod
        # whose Secret left it empty would have written to a SQLite file of its own.
        ("DATABASE_URL", "", "DATABASE_URL must be a URL such as postgres://"),
        ("EMAIL_URL", "nosuchmail://x", "EMAIL_URL must be a URL such as smtp+tls://"),
    ],
)
def test_a_number_the_service_cannot_use_stops_it_at_start(tmp_path, variable, value, refusal):
    started = python_with_settings(tmp_path, "import django; django.setup()", **{variable: value})
    assert started.returncode != 0
    assert refusal in started.stderr, started.stderr[-2000:]


@pytest.mark.parametrize(
    ("variable", "setting", "value", "read"),
    [
        ("STRIPE_TIMEOUT_S", "STRIPE_TIMEOUT_S", "0.5", "0.5"),
        ("TRUSTED_PROXY_HOPS", "TRUSTED_PROXY_HOPS", "0", "0"),
        ("EMAIL_TIMEOUT_S", "EMAIL_TIMEOUT", " 12 ", "12"),
        ("CATALOGUE_CACHE_SECONDS", "CATALOGUE_CACHE_SECONDS", "0", "0"),  # 0: no cache
        ("PLATFORM_FEE_PERCENT", "PLATFORM_FEE_PERCENT", "12.5", "12.5"),
        ("THROTTLE_USER", "REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['user']", "5/hour", "5/hour"),
        ("BILLING_DUNNING_DAYS", "BILLING_DUNNING_DAYS", "", "[]"),  # no retries
        ("THROTTLE_AUTH", "REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['auth']", "2/days", "2/days"),
        ("GRPC_MAX_WORKERS", "GRPC_MAX_WATCHES", "3", "2"),  # the watches follow the threads
        ("GRPC_MAX_WORKERS", "GRPC_MAX_WATCHES", "1", "0"),  # one thread: no watches
        ("GRPC_MAX_WORKERS", "GRPC_MAX_REPORT_STREAMS", "16", "6"),  # half what watches leave
        ("GRPC_MAX_WORKERS", "GRPC_MAX_REPORT_STREAMS_PER_TENANT", "16", "3"),  # half of those
        ("GRPC_MAX_WORKERS", "GRPC_MAX_REPORT_STREAMS_PER_TENANT", "1", "1"),  # no streams
        # Left empty in the Kubernetes kit's Secret (optional there): the default.
        ("EMAIL_URL", "EMAIL_BACKEND", "", "django.core.mail.backends.console.EmailBackend"),
    ],
)
def test_a_number_within_bounds_is_read(tmp_path, variable, setting, value, read):
    started = python_with_settings(tmp_path, SHOW.format(name=setting), **{variable: value})
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.strip() == read
