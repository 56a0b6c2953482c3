"""Certification levels: which stages each requires, and the thresholds they are judged by.

Defaults live here; platform admins override them per level in the admin (LevelThresholds,
through ``save_level_thresholds`` and ``reset_level_thresholds``, audited): a field left
empty there keeps the level's default. A stage's time limit is not a threshold:
it is the Celery task's (certification/tasks.py), bounded by the broker's visibility timeout.
"""

from dataclasses import dataclass, fields, replace
from functools import partial

from django.db import transaction

from certification.errors import LevelOverridden
from certification.models import Level, LevelThresholds, stored_level_override
from certification.vocabulary import PROMISED_LATENCY_US
from edgeplug.audit.services import record_event
from edgeplug.core.locking import unique_or

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
    Level.STANDARD: Thresholds(Level.STANDARD, PROMISED_LATENCY_US, 200, 60, 20, 1024, 365),
    Level.HARDWARE: Thresholds(Level.HARDWARE, PROMISED_LATENCY_US, 200, 60, 20, 1024, 365),
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


THRESHOLD_NAMES = tuple(f.name for f in fields(Thresholds) if f.name != "level")


def _overrides(row: LevelThresholds | None) -> dict[str, int | None]:
    """What a row overrides, each threshold by name (None: the level's default)."""
    return {name: getattr(row, name) if row is not None else None for name in THRESHOLD_NAMES}


def record_override_change(
    action: str, what: str, level: str, before, after, *, actor, request, **also
) -> None:
    """Audit a change to a level's overrides (its thresholds here, its security policy in
    ``vulndb``): ``action`` on "<level> <what>", with the overrides before and after."""
    record_event(
        action,
        request=request,
        actor=actor,
        target=f"{level} {what}",
        details={"level": level, "before": before, "after": after, **also},
    )


def store_level_override(row, what: str) -> None:
    """Save ``row``, a level's overrides (``what``: "thresholds", "security policy"), checked
    by ``full_clean(validate_unique=False)``: the unique constraint decides whether its level
    has a row already, stored since this request read (a second Save of the admin's add page,
    two admins at once), refused as ``LevelOverridden``."""
    refusal = LevelOverridden(
        f"The {row.level} level has its {what} overridden already: change that row instead."
    )
    with unique_or(refusal):
        row.save()


_record_thresholds_change = partial(
    record_override_change, "level_thresholds_changed", "thresholds"
)


@transaction.atomic
def save_level_thresholds(row: LevelThresholds, *, actor=None, request=None) -> LevelThresholds:
    """Validate and store a level's threshold overrides (within ``THRESHOLD_BOUNDS``), audited
    as ``level_thresholds_changed`` with the overrides before and after. A row stays on its
    level: moving it would put the first level back on its defaults unaudited. Saving what is
    stored already changes and records nothing."""
    row.full_clean(validate_unique=False)  # one row per level: store_level_override
    stored = stored_level_override(row)
    before, after = _overrides(stored), _overrides(row)
    if stored is not None and before == after:
        return stored
    store_level_override(row, "thresholds")
    _record_thresholds_change(row.level, before, after, actor=actor, request=request)
    return row


@transaction.atomic
def reset_level_thresholds(row: LevelThresholds, *, actor=None, request=None) -> None:
    """Drop a level's overrides: the level is back on its defaults, audited as a change to no
    overrides with ``reset: true``."""
    stored = stored_level_override(row)
    if stored is None:
        return
    stored.delete()
    _record_thresholds_change(
        stored.level, _overrides(stored), _overrides(None), actor=actor, request=request, reset=True
    )
