"""Certification actions: what the API, the admin, the registry, the CLI and beat call.

Each is one transaction that validates, writes, records its audit event and schedules its
work after commit: submit a version (or, for an upload with ``certify``, keep the certification
it has), decide a passed run, sweep runs stuck past the limit, and mark certified versions whose
every certificate expired.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from certification.errors import (
    InvalidLevel,
    RunInProgress,
    VersionYanked,
)
from certification.models import (
    ACTIVE_STATUSES,
    FAILED_STATUSES,
    CertificationRun,
    Level,
    ReviewStatus,
)
from certification.pipeline import levels
from certification.pipeline.canvas import enqueue_run
from certification.pipeline.state import end_with_error, lock_run, sync_version
from edgeplug.audit.services import record_change
from edgeplug.core.locking import lock_rows, locked
from edgeplug.reasons import require_reason
from edgeplug.tenancy.services import check_reviewer
from edgeplug.timefmt import utc_iso
from marketplace.catalogue import refresh_listing
from marketplace.certified import (
    certified_until,
    unrejected_certificates,
    vouching_certificates,
)
from marketplace.models import AgentVersion, CatalogueListing, CertificationStatus
from marketplace.services import lock_agent, lock_version, refresh_agent_card


def check_level(level: str) -> None:
    """The one check of a certification level (400 ``invalid_level``), made by every door
    before it writes anything: the submission itself, and an upload that will submit."""
    if level not in Level.values:
        raise InvalidLevel(f"Unknown level {level!r}; choose one of {', '.join(Level.values)}.")


@transaction.atomic
def submit_for_certification(
    version: AgentVersion, level: str, *, actor=None, request=None
) -> CertificationRun:
    check_level(level)
    return _submit(_locked_for_certification(version), level, actor=actor, request=request)


def _locked_for_certification(version: AgentVersion) -> AgentVersion:
    """The version read again under its lock, after its agent's: a delete of the agent in
    progress is waited for (it deleted the version under the run stored here, failing on the
    run's foreign key), or waits for this run and then refuses, run_in_progress. A yanked one
    is refused."""
    version = lock_version(version)
    if version.yanked_at is not None:
        raise VersionYanked(f"{version} is yanked and cannot be certified.")
    return version


def _submit(version: AgentVersion, level: str, *, actor, request) -> CertificationRun:
    """A new run of ``version`` (``_locked_for_certification``) at ``level``, queued once the
    transaction commits, unless one is under way."""
    active = CertificationRun.objects.filter(version=version).active().first()
    if active is not None:
        raise RunInProgress(f"Run {active.pk} for {version} is still {active.status}.")
    was_public = version.is_public
    run = CertificationRun.objects.create(
        version=version,
        tenant=version.tenant,
        level=level,
        requested_by=actor,
        pipeline_version=levels.PIPELINE_VERSION,
        stages=levels.LEVEL_STAGES[level],
    )
    sync_version(run)
    if was_public:
        # Certified again, it leaves the catalogue until the new run is reviewed: its listing
        # is rebuilt from the agent's other public versions, or goes.
        refresh_agent_card(version.agent)
    record_change(
        "certification_submitted",
        version,
        actor=actor,
        request=request,
        details={"run": run.pk, "level": level},
    )
    transaction.on_commit(lambda: enqueue_run(run.pk))
    return run


class NotRestarted(StrEnum):
    """Why an upload with ``certify`` kept the version's certification instead of a new run."""

    RUN_IN_PROGRESS = "run_in_progress"
    AWAITING_REVIEW = "awaiting_review"
    ALREADY_CERTIFIED = "already_certified"


@dataclass(frozen=True)
class UploadCertification:
    """The run an upload with ``certify`` left: a new one, or the version's latest run when it
    kept its certification (None for a version marked certified without any run),
    ``not_restarted`` (``{"code", "detail"}``, a ``NotRestarted`` code) then saying why."""

    run: CertificationRun | None
    not_restarted: dict | None = None


@transaction.atomic
def submit_upload_for_certification(
    version: AgentVersion, level: str, *, actor=None, request=None
) -> UploadCertification:
    """What an upload with ``certify`` does (the API and the portal): ``submit_for_certification``
    unless the version's certification is under way or has passed and stands (awaiting review,
    or approved). The same bytes come again from a re-run CI job, and a new run would take an
    approved version off the catalogue, or set a pending one's review aside, until it passed
    and was reviewed again. A version never submitted, whose latest run failed or ended in
    error (the broker was down), no longer certified (expired) or rejected by its reviewer is
    submitted, so a re-run job retries it. ``/certification/submit``, a vendor asking for a new
    run on purpose, submits whatever certification the version has."""
    check_level(level)
    version = _locked_for_certification(version)  # a yanked one's standing run is no answer
    latest = version.certification_runs.order_by("-pk").first()
    kept = _standing(version, latest)
    if kept is not None:
        code, detail = kept
        return UploadCertification(latest, {"code": code, "detail": detail})
    return UploadCertification(_submit(version, level, actor=actor, request=request))


def _standing(
    version: AgentVersion, run: CertificationRun | None
) -> tuple[NotRestarted, str] | None:
    """Why the version keeps its certification (``run`` is its latest), else None: a run under
    way, or the version certified and approved or awaiting review, unless its latest run failed
    (a certificate may still vouch for it, ``sync_version``, but the vendor retries that run)."""
    again = "certification was not started again"
    if run is not None and run.status in ACTIVE_STATUSES:
        return (
            NotRestarted.RUN_IN_PROGRESS,
            f"Run {run.pk} for {version} is still {run.status}; {again}.",
        )
    failed = run is not None and run.status in FAILED_STATUSES
    if failed or version.certification_status != CertificationStatus.CERTIFIED:
        return None
    certified = f"{version} is certified" + (f" by run {run.pk}" if run is not None else "")
    anew = (
        "(to certify it anew, at another level say, submit it: POST /api/v1/certification/submit)"
    )
    if version.review_status == ReviewStatus.APPROVED:
        return NotRestarted.ALREADY_CERTIFIED, (
            f"{certified} and approved; {again}, which would take it off the catalogue until "
            f"reviewed {anew}."
        )
    if version.review_status == ReviewStatus.PENDING:
        return NotRestarted.AWAITING_REVIEW, (
            f"{certified} and awaits a reviewer's decision; {again} {anew}."
        )
    return None


def broker_refusal(run: CertificationRun) -> dict | None:
    """The broker's refusal of a submitted run as ``{"code", "detail"}``, else None.

    Call it only after ``submit_for_certification``'s transaction committed: the run is handed
    to the broker in ``transaction.on_commit``, so inside that transaction the refusal has not
    happened yet and this would always say None. It reloads the run, so the caller's copy then
    shows the status the queueing left (an error at once when refused).
    """
    run.refresh_from_db()
    return run.queue_error


@transaction.atomic
def review_run(
    run: CertificationRun, *, approve: bool, reason: str, reviewer, request=None
) -> CertificationRun:
    """A reviewer's decision on a passed run; approval publishes the version to customers."""
    reason = require_reason(reason, max_length=None)
    check_reviewer(reviewer, run.tenant)  # before anything of the run is said to the caller
    # The version (after its agent, ``lock_agent``'s order), as a yank and a new submission
    # hold it: neither changes it while the decision is taken from its state (review_refusal
    # reads its yank and the newer runs that supersede it).
    version = lock_version(run.version)
    run = locked(run)
    run.version = version
    refusal = run.review_refusal()
    if refusal is not None:
        raise refusal
    run.review_status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    run.reviewed_by = reviewer
    run.reviewed_at = timezone.now()
    run.review_reason = reason
    run.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "review_reason"])
    AgentVersion.objects.filter(pk=run.version_id).update(review_status=run.review_status)
    refresh_agent_card(run.version.agent)  # forgets the cached catalogue pages too
    record_change(
        f"certification_{run.review_status}",
        run,
        actor=reviewer,
        request=request,
        target=str(run.version),
        details={"run": run.pk, "reason": run.review_reason},
    )
    return run


def sweep_stale_runs(now=None) -> int:
    """Mark runs queued or running past the configured limit as errors."""
    limit_s = settings.CERTIFICATION_RUN_TIMEOUT_S
    cutoff = (now or timezone.now()) - timedelta(seconds=limit_s)
    stale = CertificationRun.objects.active().filter(created_at__lt=cutoff)
    return sum(
        _end_if_active(
            run_id,
            "run_timeout",
            lambda run: f"still {run.current_stage or 'queued'} after {limit_s} s",
            action="certification_timed_out",
        )
        for run_id in stale.values_list("pk", flat=True)
    )


def end_interrupted_run(run: CertificationRun, why: str) -> bool:
    """End now, as an error, a run its caller knows nothing carries on: the process that ran
    it was stopped (``seed_demo``'s canvas runs inside the command). The sweeper would end it
    only at its limit, and until then no new run of the version may start. False when it has
    finished meanwhile."""
    return _end_if_active(
        run.pk,
        "run_interrupted",
        lambda run: f"stopped while {run.current_stage or 'queued'}: {why}",
        action="certification_interrupted",
    )


def _end_if_active(
    run_id: int, code: str, detail: Callable[[CertificationRun], str], *, action: str
) -> bool:
    """End run ``run_id`` with ``code`` and ``detail(run)`` unless it has finished."""
    with transaction.atomic():
        run = lock_run(run_id)
        if run.is_finished:
            return False
        end_with_error(run, code, detail(run), action=action)
        return True


def expire_lapsed_certifications(now=None) -> int:
    """Certified versions that no certificate vouches for any more become ``expired``: every
    certificate has expired, or was signed by a platform key since revoked.

    ``certified`` then means what the certificate rule says (``marketplace.certified``): a
    current certificate vouches for the version. An expired version leaves the catalogue (its
    listing falls back to an older public version, or goes), customers can no longer download
    it, and its badge says so; a new run that passes certifies it again. Beat runs this every
    15 minutes; until then only the certificate endpoint, deploy, assignments and the bundle
    (which ask the certificate rule directly) refuse it. A listing whose figures come from a
    certificate that no longer vouches is rebuilt too (from the one that does).

    A version rejected at its first review had no certificate that ever vouched (a rejected
    run's never does), so none lapsed: it stays ``certified`` and ``rejected``, kept from
    customers by its review.
    """
    now = now or timezone.now()
    vouching = vouching_certificates(now)
    never_vouched = Q(review_status=ReviewStatus.REJECTED) & ~Exists(
        unrejected_certificates().filter(version=OuterRef("pk"))
    )
    lapsed = (
        AgentVersion.objects.filter(certification_status=CertificationStatus.CERTIFIED)
        .exclude(Exists(vouching.filter(version=OuterRef("pk"))))
        .exclude(never_vouched)
    )
    expired = 0
    for version_id, agent_id in lapsed.values_list("pk", "agent_id").order_by("pk"):
        with transaction.atomic():
            lock_agent(agent_id)  # before the version, as a submission takes them
            # Read again, locked (a plain FOR UPDATE would wait on every insert naming the
            # version): certified again, or re-submitted, since.
            version = lock_rows(lapsed.filter(pk=version_id)).first()
            if version is None:
                continue
            version.certification_status = CertificationStatus.EXPIRED
            version.save(update_fields=["certification_status"])
            refresh_agent_card(version.agent)  # forgets the cached catalogue pages too
            until = certified_until(version)
            record_change(
                "certification_expired",
                version,
                details={"certified_until": utc_iso(until) if until else None},
            )
            expired += 1
    _refresh_stale_listings(vouching)
    return expired


def _refresh_stale_listings(vouching) -> None:
    stale = CatalogueListing.objects.exclude(certificate_id=None).exclude(
        certificate_id__in=vouching.values("pk")
    )
    for listing in stale.select_related("agent__tenant").order_by("pk"):
        with transaction.atomic():
            refresh_listing(listing.agent)  # forgets the cached catalogue pages too
