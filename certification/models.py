"""Certification runs, stage results, certificates, thresholds, and the vulnerability database."""

from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.formats import date_format

from certification import vocabulary
from certification.errors import NotQueued, NotReviewable, VersionNotCertified, VersionYanked
from certification.security.errors import PolicyInvalid
from certification.security.policy import SecurityPolicy
from marketplace.models import CertificationStatus, ReviewStatus


def _choices(name: str, words: type[StrEnum]) -> type[models.TextChoices]:
    """``words`` (a Django-free enum of ``certification.vocabulary``) as ``TextChoices``,
    member for member, labelled as Django labels them (``BASIC`` → "Basic")."""
    return models.TextChoices(
        name, [(word.name, word.value) for word in words], module=__name__, qualname=name
    )


Level = _choices("Level", vocabulary.Level)
RunStatus = _choices("RunStatus", vocabulary.RunStatus)


class StageResult(models.TextChoices):
    PASS = "pass"  # noqa: S105 - a stage verdict, not a password
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


ACTIVE_STATUSES = tuple(RunStatus(status) for status in sorted(vocabulary.ACTIVE_RUN_STATUSES))
# Ended without passing: a stage failed, or the run was stopped by an error.
FAILED_STATUSES = (RunStatus.FAILED, RunStatus.ERROR)

# What a run in the queue (``in_queue``) can be, all its filters may ask for: one awaiting
# review has passed, and no run is decided before it has.
QUEUE_STATUSES = (*ACTIVE_STATUSES, RunStatus.PASSED)
QUEUE_REVIEW_STATUSES = (ReviewStatus.PENDING,)

# What ``CertificationRun.stage_state`` says of a stage: its verdict, or where the run is.
STAGE_STATES = (*StageResult.values, "running", "pending")

# A run's fields as the admin and the API show them, in groups.
RUN_STATE_FIELDS = (
    "level",
    "status",
    "current_stage",
    "progress",
    "pipeline_version",
    "error_code",
    "error_detail",
)
RUN_TIMING_FIELDS = ("created_at", "started_at", "finished_at")
RUN_REVIEW_FIELDS = ("review_status", "reviewed_at", "review_reason")


class CertificationRunQuerySet(models.QuerySet):
    def older_than(self, age: timedelta) -> "CertificationRunQuerySet":
        """Runs submitted at least ``age`` ago (the queue's ``older_than_hours``, the admin's
        age filter)."""
        return self.filter(created_at__lte=timezone.now() - age)

    def superseding(self) -> "CertificationRunQuerySet":
        """Runs that supersede the older runs of their version: queued, running or passed. A
        run that failed (or ended in error) took nothing away (``sync_version``), so it leaves
        an older passed run awaiting review as it was."""
        return self.exclude(status__in=FAILED_STATUSES)

    def awaiting_review(self) -> "CertificationRunQuerySet":
        """Runs a reviewer can decide now, the review queue: passed, undecided, their version
        not yanked and still certified, and not superseded by a newer run of that version
        (``superseding``). The same rule, row by row, is ``CertificationRun.review_refusal``
        (``is_awaiting_review``), which ``review_run`` enforces."""
        newer = CertificationRun.objects.superseding().filter(
            version_id=OuterRef("version_id"), pk__gt=OuterRef("pk")
        )
        return self.filter(
            ~Exists(newer),
            status=RunStatus.PASSED,
            review_status=ReviewStatus.PENDING,
            version__yanked_at__isnull=True,
            version__certification_status=CertificationStatus.CERTIFIED,
        )

    def active(self) -> "CertificationRunQuerySet":
        """Runs still queued or running."""
        return self.filter(status__in=ACTIVE_STATUSES)

    def in_queue(self) -> "CertificationRunQuerySet":
        """The queue the API lists: runs a reviewer can decide now, and runs still going. Its
        runs are of ``QUEUE_STATUSES`` and ``QUEUE_REVIEW_STATUSES`` only."""
        return self.awaiting_review() | self.active()

    def failed(self) -> "CertificationRunQuerySet":
        """Runs that ended without passing (``FAILED_STATUSES``)."""
        return self.filter(status__in=FAILED_STATUSES)


class CertificationRun(models.Model):
    version = models.ForeignKey(
        "marketplace.AgentVersion", on_delete=models.CASCADE, related_name="certification_runs"
    )
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=16, choices=Level.choices)
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    current_stage = models.CharField(max_length=32, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent")
    pipeline_version = models.CharField(max_length=16)
    stages = models.JSONField(default=list, help_text="the stages this run's level requires")
    error_code = models.CharField(max_length=64, blank=True)
    error_detail = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)

    objects = CertificationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.version} ({self.level}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in ACTIVE_STATUSES

    def stage_states(self, results: dict | None = None) -> list[tuple[str, str]]:
        """(stage, state) for each stage of the run's level, in order: the steps the portal,
        the watch stream, the API and the CLI show. A stage's state is its recorded verdict,
        otherwise running (a worker started it: several run at once, ``current_stage`` names
        the one started last), skipped (the run ended first) or pending. ``results`` maps a
        stage to its ``CertificationResult``; without it they are read from ``self.results``.
        The attempts are read only while the run is running: prefetch them with the results
        for a list of runs. A result of no stage of the level (the certificate's signing) is
        not a step."""
        if results is None:
            results = {r.test_suite: r for r in self.results.all()}
        running = self.status == RunStatus.RUNNING
        started = {attempt.stage for attempt in self.attempts.all()} if running else set()

        def state(stage: str) -> str:
            if stage in results:
                return results[stage].test_result
            if stage in started:
                return "running"
            return StageResult.SKIPPED if self.is_finished else "pending"

        return [(stage, state(stage)) for stage in self.stages]

    def results_in_stage_order(self, results: dict | None = None) -> list["CertificationResult"]:
        """The run's ``CertificationResult``s in the order its reports are read, on the portal
        and in the admin: its level's stages in order (``stages``, as ``stage_states``), then
        any of no stage of the level (the certificate's signing, recorded last). ``results``
        as for ``stage_states``."""
        if results is None:
            results = {r.test_suite: r for r in self.results.all()}
        ordered = [results[stage] for stage in self.stages if stage in results]
        return ordered + [r for stage, r in results.items() if stage not in self.stages]

    @property
    def queue_error(self) -> dict | None:
        """Why the run never reached the workers (the broker refused it), else None."""
        if self.error_code != NotQueued.code:
            return None
        return {
            "code": self.error_code,
            "detail": f"Run {self.pk} could not be queued ({self.error_detail}); "
            "submit it again shortly.",
        }

    def review_refusal(self) -> VersionYanked | NotReviewable | VersionNotCertified | None:
        """Why a reviewer cannot decide this run now, else None (``awaiting_review()`` in SQL).

        A yanked version is withdrawn by its vendor: approving it would publish nothing yet read
        as a decision on it. Only a passed, undecided run is decided, and only the newest run
        of its version but for newer ones that failed (``superseding``): the version's status
        and certificate are that run's, so deciding an older one would publish (or hide) what
        the reviewer did not look at; a failed run leaves both as they were. A version no
        longer certified (its certificates expired, or their platform key was revoked, since
        the run passed: ``expired``) would not be published by an approval either: it is
        certified again by a new run, which is reviewed.
        """
        if self.version.yanked_at is not None:
            return VersionYanked(f"{self.version} was yanked by its vendor; it cannot be decided.")
        if self.status != RunStatus.PASSED or self.review_status != ReviewStatus.PENDING:
            return NotReviewable(
                f"Run {self.pk} is {self.status} and {self.review_status}; only passed "
                "runs awaiting review can be decided."
            )
        newest = (
            CertificationRun.objects.superseding()
            .filter(version_id=self.version_id, pk__gt=self.pk)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if newest is not None:
            return NotReviewable(
                f"Run {self.pk} was superseded by run {newest} of the same version; review that."
            )
        if self.version.certification_status != CertificationStatus.CERTIFIED:
            return VersionNotCertified(
                f"{self.version} is no longer certified ({self.version.certification_status}): "
                "no certificate vouches for it, so approving would publish nothing. Its vendor "
                "can certify it again; that run is then reviewed."
            )
        return None

    @property
    def is_awaiting_review(self) -> bool:
        """A reviewer can decide this run now (``review_refusal``): it is in the queue."""
        return self.review_refusal() is None


class CertificationResult(models.Model):
    """One row per stage of a run: the seed's ``certification_results`` table."""

    run = models.ForeignKey(CertificationRun, on_delete=models.CASCADE, related_name="results")
    test_suite = models.CharField(max_length=32)
    test_result = models.CharField(max_length=16, choices=StageResult.choices)
    test_duration_ms = models.PositiveIntegerField(default=0)
    test_logs = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    # At most MAX_STORED_FINDINGS (certification/pipeline/findings.py), most severe first ...
    findings = models.JSONField(default=list, blank=True)
    # ... and how many there were: {"total": n, "left_out": {severity: count not stored}}.
    # With a database default: the previous release's workers, still recording stages during a
    # rollout, insert results without it (migration 0014).
    findings_summary = models.JSONField(default=dict, db_default={}, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "certification_results"
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "test_suite"], name="one_result_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.test_suite}: {self.test_result}"


class StageAttempt(models.Model):
    """Each time a worker starts a stage: shows progress, and redeliveries after a crash."""

    run = models.ForeignKey(CertificationRun, on_delete=models.CASCADE, related_name="attempts")
    stage = models.CharField(max_length=32)
    worker = models.CharField(max_length=200, blank=True)
    worker_pid = models.PositiveIntegerField(null=True)
    started_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.stage} of run {self.run_id} on {self.worker} (pid {self.worker_pid})"


class Certificate(models.Model):
    run = models.OneToOneField(
        CertificationRun, on_delete=models.CASCADE, related_name="certificate"
    )
    version = models.ForeignKey(
        "marketplace.AgentVersion", on_delete=models.CASCADE, related_name="certificates"
    )
    key_id = models.CharField(max_length=80)
    payload = models.JSONField()
    signature = models.CharField(max_length=128)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return f"certificate for {self.version} by {self.key_id}"

    def document(self) -> dict:
        return {"certificate": self.payload, "signature": self.signature, "key_id": self.key_id}


# What a platform admin may set each threshold to (the defaults are in
# certification/pipeline/levels.py). The latency gate never above the 500 µs the product
# promises (PROMISED_LATENCY_US); the model sandbox never given more time than a stage has
# (its soft time limit, STAGE_SOFT_LIMIT_S in certification/tasks.py) nor less memory than its
# interpreter needs to start (about 128 MiB: below it every model fails with model_memory_limit); a
# certificate valid at most ten years (the signing key's window may end it sooner).
THRESHOLD_BOUNDS: dict[str, tuple[int, int]] = {
    "latency_gate_us": (1, vocabulary.PROMISED_LATENCY_US),
    "invariant_examples": (1, 10_000),
    "model_cpu_seconds": (1, 600),
    "model_wall_seconds": (1, 600),
    "model_memory_mb": (256, 16_384),
    "certificate_validity_days": (1, 3_650),
}


def _override(
    name: str, help_text: str, *, why_min: str = "", why_max: str = ""
) -> models.PositiveIntegerField:
    """A threshold a level's row may override, within its bounds; empty keeps the level's
    default."""
    low, high = THRESHOLD_BOUNDS[name]
    return models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(low, f"Must be at least {low}{why_min}."),
            MaxValueValidator(high, f"Must be at most {high}{why_max}."),
        ],
        help_text=f"{help_text} ({low} to {high}; empty: the level's default)",
    )


def stored_level_override(row: "LevelThresholds | SecurityPolicyOverride"):
    """The stored copy of a level's override row (thresholds, security policy) about to be
    saved or reset, locked until the transaction ends; None for a new row or one deleted
    meanwhile. A row stays on its level:
    moving it would put the first level back on its defaults, unaudited."""
    stored = type(row).objects.select_for_update().filter(pk=row.pk).first()
    if stored is not None and stored.level != row.level:
        raise ValidationError({"level": "A level's overrides stay on that level."})
    return stored


class LevelThresholds(models.Model):
    """Platform admins tune each level here, through ``save_level_thresholds`` (audited); the
    defaults, and which apply when a field is empty, live in certification/pipeline/levels.py
    (``thresholds_for``)."""

    level = models.CharField(max_length=16, choices=Level.choices, unique=True)
    latency_gate_us = _override(
        "latency_gate_us",
        "worst estimated inference time a run may take, in µs; never gates the basic level",
        why_max=f": the product promises a gate of {vocabulary.PROMISED_LATENCY_US} µs or less",
    )
    invariant_examples = _override("invariant_examples", "Hypothesis examples per invariant")
    model_cpu_seconds = _override(
        "model_cpu_seconds",
        "CPU seconds of the model sandbox over a whole stage",
        why_max=", a stage's time limit",
    )
    model_wall_seconds = _override(
        "model_wall_seconds",
        "wall-clock limit of one request to the model sandbox, in seconds",
        why_max=", a stage's time limit",
    )
    model_memory_mb = _override(
        "model_memory_mb",
        "address-space limit of the model sandbox, in MiB",
        why_min=": the sandbox's interpreter alone needs about 128 MiB to start",
    )
    certificate_validity_days = _override(
        "certificate_validity_days", "days a certificate is valid"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "level thresholds"
        ordering = ["level"]

    def __str__(self) -> str:
        return f"{self.level} thresholds"

    def clean(self) -> None:
        if self.level == Level.BASIC and self.latency_gate_us is not None:
            raise ValidationError(
                {"latency_gate_us": "The basic level never gates latency: leave this empty."}
            )


class Advisory(models.Model):
    """One OSV advisory from the offline vulnerability database (``manage.py import_osv``).

    ``raw`` is the record as published; the scan re-parses it with ``parse_osv_record``. The
    other columns are copies for the admin and for queries.
    """

    osv_id = models.CharField("OSV id", max_length=255, unique=True)
    aliases = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True)
    modified = models.DateTimeField()
    published = models.DateTimeField(null=True, blank=True)
    withdrawn = models.DateTimeField(null=True, blank=True)
    # The highest severity over the record's affected packages, for listing and filtering.
    severity = models.CharField(max_length=16, blank=True, db_index=True)
    score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    raw = models.JSONField()
    source = models.CharField(max_length=500, blank=True, help_text="the path import_osv read")
    imported_at = models.DateTimeField(help_text="first imported")
    updated_at = models.DateTimeField(help_text="last changed by an import")

    class Meta:
        verbose_name_plural = "advisories"
        ordering = ["-modified", "osv_id"]

    def __str__(self) -> str:
        return self.osv_id


class AdvisoryPackage(models.Model):
    """A package an advisory affects, keyed as the scan matches it: (ecosystem, normalised name)."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="packages")
    ecosystem = models.CharField(max_length=100)
    name = models.CharField(max_length=400)

    class Meta:
        ordering = ["ecosystem", "name"]
        indexes = [models.Index(fields=["ecosystem", "name"], name="advisory_package_key")]
        constraints = [
            models.UniqueConstraint(
                fields=["advisory", "ecosystem", "name"], name="one_row_per_advisory_package"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ecosystem}/{self.name}"


class ImportStatus(models.TextChoices):
    RUNNING = "running"
    COMPLETED = "completed"
    # Stopped on an error, or its process died (import_stalled); what it committed stays.
    FAILED = "failed"


class AdvisoryImport(models.Model):
    """One run of ``import_osv``: when the database was last refreshed, and what changed.

    Written with the run's first batch and updated in the transaction of every batch it
    commits, so its counts are the one record of what the run stored, even when the run fails
    or its process dies. A run whose process died stays ``running`` until it has made no
    progress for ``OSV_IMPORT_STALL_TIMEOUT_S``; then it is closed as ``failed`` with
    ``import_stalled`` (``vulndb.fail_stalled_imports``).

    One import runs at a time: two would write the same new advisories at once, and one of
    them would fail on ``Advisory.osv_id``'s unique constraint. The database holds at most one
    ``running`` row, so a second run is refused (``import_already_running``) when it tries to
    record itself, before it has stored anything.
    """

    path = models.CharField(max_length=1000)
    # Defaults in the database: the previous release, still running during a rollout, inserts
    # its row once an import has completed, without these columns.
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, db_default=ImportStatus.COMPLETED
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # Empty on the rows of a release that did not write it: their start stands for it.
    last_progress_at = models.DateTimeField(
        null=True, blank=True, help_text="when the run last committed a batch"
    )
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True, db_default="")
    error_detail = models.TextField(blank=True, db_default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status=ImportStatus.RUNNING),
                name="one_running_advisory_import",
            )
        ]

    def __str__(self) -> str:
        started = date_format(self.started_at, "DATETIME_FORMAT")
        return f"import of {self.path} at {started} ({self.status})"


class SecurityPolicyOverride(models.Model):
    """Platform admins' changes to a level's security policy; defaults live in
    certification/security/policy.py and only the keys stored here differ from them."""

    level = models.CharField(max_length=16, choices=Level.choices, unique=True)
    overrides = models.JSONField(
        default=dict,
        blank=True,
        help_text='e.g. {"fail_on_severity": "high", "license_deny": ["AGPL-3.0-only"]}',
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["level"]

    def __str__(self) -> str:
        return f"{self.level} security policy"

    def clean(self) -> None:
        if not isinstance(self.overrides, dict):
            raise ValidationError({"overrides": "Give a JSON object of policy settings."})
        try:
            SecurityPolicy.for_level(self.level).with_overrides(self.overrides)
        except (PolicyInvalid, TypeError) as exc:
            raise ValidationError({"overrides": str(exc)}) from exc


class ScanFinding(models.Model):
    """A vulnerability found in a certified version by a re-scan after a database update.

    One row per (version, advisory, component purl): a re-scan creates only what is new, so
    vendors and reviewers hear about each finding once.
    """

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(
        "marketplace.AgentVersion", on_delete=models.CASCADE, related_name="scan_findings"
    )
    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="findings")
    component = models.CharField(max_length=400)
    component_version = models.CharField(max_length=256, blank=True)
    purl = models.CharField(max_length=1000)
    severity = models.CharField(max_length=16)
    score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    fixed_versions = models.JSONField(default=list, blank=True)
    # Fails the gate of the level the version was certified at.
    blocking = models.BooleanField(default=False)
    # Already listed by the certification run's own scan: recorded, not announced again.
    known_at_certification = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    # When the vendor's message and the reviewers' digest listing it went out: each is marked
    # on its own, so a failure of one never sends the other again. The vendor's keeps the
    # column of the single notified_at it replaced (pods of the previous release read it).
    vendor_notified_at = models.DateTimeField(null=True, blank=True, db_column="notified_at")
    reviewers_notified_at = models.DateTimeField(null=True, blank=True)
    # When a message was due but had nobody to go to (the vendor with no active admin or
    # developer with an email address, no reviewer at all): nothing went out, so the finding
    # is not marked notified; it is not tried again, and the reviewers' digest names the
    # vendors nobody told.
    vendor_nobody_to_mail_at = models.DateTimeField(null=True, blank=True)
    reviewers_nobody_to_mail_at = models.DateTimeField(null=True, blank=True)
    # What the mail server answered when it refused a message for good (edgeplug.mail's
    # ``email_refused``: a 5xx, a mailbox that does not exist), empty when it did not: with the
    # message not notified, it refused every recipient, and it is not tried again (every try
    # would meet it); with it notified, it refused some (for good, or a 4xx the detail calls
    # temporary) and took it for the others. The digest says so of the vendor.
    vendor_refusal = models.TextField(blank=True, default="", db_default="")
    reviewers_refusal = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "advisory", "purl"], name="one_finding_per_version_advisory"
            )
        ]

    def __str__(self) -> str:
        return f"{self.advisory.osv_id} in {self.component}@{self.component_version}"
