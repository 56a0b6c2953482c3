"""The audit log in the admin: searchable, filterable, read-only. The log only grows (never
pruned): a page reads that page, never every row (docs/scaling.md)."""

from django.contrib import admin

from edgeplug.audit.models import AuditEvent
from edgeplug.core.admin import (
    EstimatedCountPaginator,
    FilterParametersChecked,
    HeldRelatedFilter,
    HeldValuesFilter,
    ReadOnlyAdminMixin,
)


@admin.register(AuditEvent)
class AuditEventAdmin(FilterParametersChecked, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "action", "actor_email", "tenant", "target", "ip")
    # Dates by Django's date filter (today, past 7 days, this month, this year), which reads
    # nothing to list its choices: a date hierarchy read every row's month per page view.
    list_filter = (
        ("action", HeldValuesFilter),
        ("tenant", HeldRelatedFilter),
        "created_at",
    )
    list_select_related = ("tenant",)  # a nullable link: Django's own joins skip it
    search_fields = ("actor_email", "target", "action", "request_id")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
