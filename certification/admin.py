"""The reviewers' queue in the admin: every stage readable, decisions with a reason."""

from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

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
    ActionAdminMixin,
    KeptInput,
    ReadOnlyAdminMixin,
    decide_in_admin,
    object_url,
)
from edgeplug.tenancy.models import StaffGroup
from edgeplug.tenancy.permissions import in_staff_group


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [
            ("1h", "older than 1 hour"),
            ("1d", "older than 1 day"),
            ("7d", "older than 7 days"),
        ]

    def queryset(self, request, queryset):
        spans = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
        if self.value() in spans:
            return queryset.older_than(spans[self.value()])
        return queryset


class AwaitingReviewFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("review", "awaiting review"), ("active", "queued or running")]

    def queryset(self, request, queryset):
        if self.value() == "review":
            return queryset.awaiting_review()
        if self.value() == "active":
            return queryset.active()
        return queryset


@admin.register(CertificationRun)
class CertificationRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Few, narrow columns: the list must show the review column at 1280 px beside both
    # sidebars. The vendor is part of the version's name; progress shows while running.
    list_display = ("id", "version", "level", "run_status", "review", "created")
    list_filter = (AwaitingReviewFilter, "level", "status", "review_status", "tenant", AgeFilter)
    search_fields = ("version__agent__name", "version__version", "tenant__slug")
    date_hierarchy = "created_at"
    list_select_related = ("version__agent", "tenant")
    fieldsets = (
        (None, {"fields": ("version", "vendor", *RUN_STATE_FIELDS)}),
        ("Timing", {"fields": RUN_TIMING_FIELDS}),
        ("Review", {"fields": (*RUN_REVIEW_FIELDS, "reviewed_by")}),
        ("Stages", {"fields": ("stage_report",)}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)
    change_form_template = "admin/certification/certificationrun/change_form.html"

    class Media:
        css = {"all": ["edgeplug/admin.css"]}

    @admin.display(description="vendor", ordering="tenant__slug")
    def vendor(self, obj):
        return obj.tenant.slug

    @admin.display(description="status", ordering="status")
    def run_status(self, obj):
        if not obj.is_finished:
            return f"{obj.get_status_display()} {obj.progress}%"
        return obj.get_status_display()

    @admin.display(description="review", ordering="review_status")
    def review(self, obj):
        return obj.get_review_status_display()

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="stage results")
    def stage_report(self, obj):
        results = list(obj.results.all())
        return format_html(
            "{}",
            render_to_string(
                "admin/certification/stage_report.html",
                {
                    # Every step of the level, as the portal, the API, the CLI and the watch
                    # stream show it (a stage not reached: pending or skipped), then the
                    # reports of those that ran.
                    "steps": obj.stage_states({r.test_suite: r for r in results}),
                    "stages": [stage_view(result) for result in results],
                    "attempts": obj.attempts.all(),
                },
            ),
        )

    def get_urls(self):
        return [object_url(self, "decide", self.decide), *super().get_urls()]

    def render_change_form(self, request, context, *args, **kwargs):
        run = context.get("original")
        reviewer = run is not None and in_staff_group(request.user, StaffGroup.REVIEWERS)
        refusal = run.review_refusal() if reviewer else None
        context["can_decide"] = reviewer and refusal is None
        # A passed run still pending that cannot be decided (yanked, superseded, its version
        # expired since): say why where the decision would be, instead of a form every click
        # of which is refused.
        waiting = refusal and (run.status, run.review_status) == (
            RunStatus.PASSED,
            ReviewStatus.PENDING,
        )
        context["decide_refusal"] = refusal.detail if waiting else ""
        context["kept"] = _KEPT.read(request, run)
        return super().render_change_form(request, context, *args, **kwargs)

    def decide(self, request, object_id):
        return _decide(request, object_id)


@require_POST
def _decide(request, run_id):
    """The decision, then back to the change page with its message. A refused one keeps what
    was typed: the decision form shows it again there (``_KEPT``)."""
    if not in_staff_group(request.user, StaffGroup.REVIEWERS):
        raise PermissionDenied
    run = get_object_or_404(CertificationRun, pk=run_id)
    decide_in_admin(request, run, review=review_run, kept=_KEPT, name=f"Run {run.pk}")
    return redirect(reverse("admin:certification_certificationrun_change", args=[run.pk]))


# What a refused decision's form shows again on the change page (``_decide``).
_KEPT = KeptInput("certification_run", {"decision": {"reason": ""}})


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
