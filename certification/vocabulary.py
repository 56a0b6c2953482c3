"""Certification's words the vendor CLI and the benchmarks share with the server: the levels a
version is certified at, the statuses a run goes through, the latency the product promises.
Django-free, so the CLI (which never imports the server) reads them from here, and
``certification.models`` builds its ``TextChoices`` from them: a level or a status is added
in one place."""

from enum import StrEnum


class Level(StrEnum):
    BASIC = "basic"
    STANDARD = "standard"
    HARDWARE = "hardware"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


ACTIVE_RUN_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
FINISHED_RUN_STATUSES = frozenset(RunStatus) - ACTIVE_RUN_STATUSES

# The product's promise: an inference within 500 µs. The default gate of the levels that gate
# latency, and the highest a platform admin may set (``THRESHOLD_BOUNDS``).
PROMISED_LATENCY_US = 500

# How the API's level fields describe themselves (the actions refuse any other level).
LEVEL_HELP = "the certification level (anything else is 400 invalid_level)"
