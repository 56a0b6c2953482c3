"""Certification's words the vendor CLI and the benchmarks share with the server: the levels a
version is certified at and the statuses a run goes through. Django-free, so the CLI (which
never imports the server) reads them from here, and ``certification.models`` builds its
``TextChoices`` from them: a level or a status is added in one place."""

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
