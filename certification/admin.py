"""The reviewers' queue in the admin: every stage readable, decisions with a reason."""

from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.template.loader import render_to_string
from django.utils.html import format_html

from certification.models import (
    RUN_REVIEW_FIELDS,
    RUN_STATE_FIELDS,
    RUN_TIMING_FIELDS,
    Certificate,
    CertificationRun,
    LevelThresholds,
    ReviewStatus,
    RunStatus,
)
from certification.pipeline.actions import review_run
from certification.pipeline.levels import reset_level_thresholds, save_level_thresholds
from certification.pipeline.report import stage_view
from certification.vulndb import admin as _vulndb_admin  # noqa: F401 - advisories, security policy
from edgeplug.core.admin import (
    TENANT_FILTER,
    ActionAdminMixin,
    ChoicesFilter,
    DecidedInAdminMixin,
    KeptInput,
    ReadOnlyAdminMixin,
    VersionNameSearchMixin,
)


class AgeFilter(ChoicesFilter):
    title = "age"
    parameter_name = "age"
    ways = {
        "1h": ("older than 1 hour", lambda runs: runs.older_than(timedelta(hours=1))),
        "1d": ("older than 1 day", lambda runs: runs.older_than(timedelta(days=1))),
        "7d": ("older than 7 days", lambda runs: runs.older_than(timedelta(days=7))),
    }


class AwaitingReviewFilter(ChoicesFilter):
    title = "queue"
    parameter_name = "queue"
    ways = {
        "review": ("awaiting review", lambda runs: runs.awaiting_review()),
        "active": ("queued or running", lambda runs: runs.active()),
    }


@admin.register(CertificationRun)
class CertificationRunAdmin(VersionNameSearchMixin, DecidedInAdminMixin, admin.ModelAdmin):
    # Few, narrow columns: the list must show the review column at 1280 px beside both
    # sidebars. The vendor is part of the version's name; progress shows while running.
    list_display = ("id", "version", "level", "run_status", "review", "created")
    list_filter = (
        AwaitingReviewFilter,
        "level",
        "status",
        "review_status",
        TENANT_FILTER,
        AgeFilter,
    )
    search_fields = ("version__agent__name", "version__version", "tenant__slug")
    date_hierarchy = "created_at"
    list_select_related = ("version__agent__tenant", "tenant")
    fieldsets = (
        (None, {"fields": ("version", "vendor", *RUN_STATE_FIELDS)}),
        ("Timing", {"fields": RUN_TIMING_FIELDS}),
        ("Review", {"fields": (*RUN_REVIEW_FIELDS, "reviewed_by")}),
        ("Stages", {"fields": ("stage_report",)}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)
    change_form_template = "admin/certification/certificationrun/change_form.html"
    review_action = staticmethod(review_run)
    # What a refused decision's form shows again on the change page.
    kept = KeptInput("certification_run", {"decision": {"reason": ""}})

    @admin.display(description="status", ordering="status")
    def run_status(self, obj):
        if not obj.is_finished:
            return f"{obj.get_status_display()} {obj.progress}%"
        return obj.get_status_display()

    @admin.display(description="review", ordering="review_status")
    def review(self, obj):
        return obj.get_review_status_display()

    @admin.display(description="stage results")
    def stage_report(self, obj):
        results = {r.test_suite: r for r in obj.results.all()}
        return format_html(
            "{}",
            render_to_string(
                "admin/certification/stage_report.html",
                {
                    # Every step of the level, as the portal, the API, the CLI and the watch
                    # stream show it (a stage not reached: pending or skipped), then the
                    # reports of those that ran, in the same order (signing last).
                    "steps": obj.stage_states(results),
                    "stages": [stage_view(r) for r in obj.results_in_stage_order(results)],
                    "attempts": obj.attempts.all(),
                },
            ),
        )

    def refusal(self, obj):
        return obj.review_refusal()

    def says_refusal(self, obj) -> bool:
        # A passed run still pending (its reviewer belongs to its tenant; yanked, superseded,
        # its version expired since).
        return (obj.status, obj.review_status) == (RunStatus.PASSED, ReviewStatus.PENDING)

    def decision_name(self, obj) -> str:
        return f"Run {obj.pk}"


@admin.register(Certificate)
class CertificateAdmin(VersionNameSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("version", "key_id", "issued_at", "expires_at")
    search_fields = ("version__agent__name", "key_id")
    readonly_fields = (
        "run",
        "version",
        "key_id",
        "payload",
        "signature",
        "issued_at",
        "expires_at",
    )


@admin.register(LevelThresholds)
class LevelThresholdsAdmin(ActionAdminMixin, admin.ModelAdmin):
    """Platform admins override a level's thresholds within their bounds; every save and
    delete goes through the audited actions in certification/pipeline/levels.py."""

    list_display = (
        "level",
        "latency_gate_us",
        "invariant_examples",
        "certificate_validity_days",
        "updated_at",
    )
    empty_value_display = "(default)"
    save_action = staticmethod(save_level_thresholds)
    delete_action = staticmethod(reset_level_thresholds)
    chosen_on_add = ("level",)
