"""Certification runs as the pipeline leaves them, made directly with the factories."""

from django.utils import timezone

from certification.models import CertificationRun
from tests.factories import (
    AgentVersionFactory,
    CertificationResultFactory,
    CertificationRunFactory,
)
from tests.review.finding_kinds import FINDING_KINDS, STAGE_METRICS


def passed_run(**version_fields) -> CertificationRun:
    """A hardware-level run that passed every stage, awaiting review; as on a fresh install,
    the security stage warns that the advisory database is empty."""
    version = AgentVersionFactory(certified=True, **version_fields)
    run = CertificationRunFactory(version=version, level="hardware", stages=list(STAGE_METRICS))
    for stage, metrics in STAGE_METRICS.items():
        findings = [FINDING_KINDS["advisory_db_empty"].finding] if stage == "security" else []
        CertificationResultFactory(
            run=run,
            test_suite=stage,
            metrics=metrics,
            findings=findings,
            test_logs=f"{stage}: PASS",
        )
    return run


def failed_run_with_every_finding() -> CertificationRun:
    """A run whose stages report one finding of every kind the stages can emit."""
    version = AgentVersionFactory(certification_status="failed")
    run = CertificationRunFactory(
        version=version, level="hardware", status="failed", stages=list(STAGE_METRICS)
    )
    for stage, metrics in STAGE_METRICS.items():
        CertificationResultFactory(
            run=run,
            test_suite=stage,
            test_result="fail",
            metrics=metrics,
            findings=[k.finding for k in FINDING_KINDS.values() if k.stage == stage],
            test_logs=f"{stage}: FAIL",
        )
    return run


def yank(run: CertificationRun) -> None:
    run.version.yanked_at = timezone.now()
    run.version.yank_reason = "withdrawn by the vendor"
    run.version.save(update_fields=["yanked_at", "yank_reason"])


def running_version(vendor_admin) -> tuple:
    """The vendor's agent pump-anomaly 1.0.0 with a certification run under way: (the
    version, the run)."""
    version = AgentVersionFactory(
        agent__tenant=vendor_admin.memberships.get().tenant,
        agent__name="pump-anomaly",
        version="1.0.0",
        certification_status="running",
    )
    return version, CertificationRunFactory(version=version, running=True)
