"""The audit log in the admin: searchable, filterable, read-only."""

from django.contrib import admin

from edgeplug.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor_email", "tenant", "target", "ip")
    list_filter = ("action", "tenant")
    search_fields = ("actor_email", "target", "action", "request_id")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
