"""Certification levels: which stages each requires, and the thresholds they are judged by.

Defaults live here; platform admins override them per level in the admin (LevelThresholds):
a field left empty there keeps the level's default. A stage's time limit is not a threshold:
it is the Celery task's (certification/tasks.py), bounded by the broker's visibility timeout.
"""

from dataclasses import dataclass, fields, replace

from certification.models import Level, LevelThresholds

PIPELINE_VERSION = "1"

VALIDATION = "validation"
INVARIANTS = "invariants"
PERFORMANCE = "performance"
SECURITY = "security"
SIMULATION = "simulation"
SIGNING = "signing"

LEVEL_STAGES: dict[str, list[str]] = {
    Level.BASIC: [VALIDATION, INVARIANTS, PERFORMANCE],
    Level.STANDARD: [VALIDATION, INVARIANTS, PERFORMANCE, SECURITY],
    Level.HARDWARE: [VALIDATION, INVARIANTS, PERFORMANCE, SECURITY, SIMULATION],
}


@dataclass(frozen=True)
class Thresholds:
    level: str
    # None: the latency estimate is reported but does not gate (basic level).
    latency_gate_us: int | None
    invariant_examples: int
    model_cpu_seconds: int
    model_wall_seconds: int
    model_memory_mb: int
    certificate_validity_days: int


DEFAULTS: dict[str, Thresholds] = {
    Level.BASIC: Thresholds(Level.BASIC, None, 100, 60, 20, 1024, 365),
    Level.STANDARD: Thresholds(Level.STANDARD, 500, 200, 60, 20, 1024, 365),
    Level.HARDWARE: Thresholds(Level.HARDWARE, 500, 200, 60, 20, 1024, 365),
}


def thresholds_for(level: str) -> Thresholds:
    default = DEFAULTS[level]
    row = LevelThresholds.objects.filter(level=level).first()
    if row is None:
        return default
    # The row holds each threshold it overrides under its name here (empty: the default); the
    # basic level never gates latency.
    overrides = {
        f.name: getattr(row, f.name)
        for f in fields(Thresholds)
        if f.name != "level" and getattr(row, f.name) is not None
    }
    merged = replace(default, **overrides)
    return replace(merged, latency_gate_us=None) if level == Level.BASIC else merged
