"""The audit log in the admin: searchable, filterable, read-only."""

from django.contrib import admin

from edgeplug.audit.models import AuditEvent
from edgeplug.core.admin import FilterParametersChecked, ReadOnlyAdminMixin


@admin.register(AuditEvent)
class AuditEventAdmin(FilterParametersChecked, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "action", "actor_email", "tenant", "target", "ip")
    list_filter = ("action", "tenant")
    list_select_related = ("tenant",)  # a nullable link: Django's own joins skip it
    search_fields = ("actor_email", "target", "action", "request_id")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
