"""Tenants and memberships in the admin; membership edits are audited like API ones."""

from django.contrib import admin

from edgeplug.audit.services import record_event
from edgeplug.tenancy.models import Membership, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("tenant", "user")


class AuditedMembershipsMixin:
    """For admins with a MembershipInline: record every membership change in the audit log."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            record_event(
                "membership_removed",
                request=request,
                tenant=obj.tenant,
                target=obj.user.email,
                details={"role": obj.role, "via": "admin"},
            )
            obj.delete()
        for obj in instances:
            if obj.pk is None:
                action, details = "membership_created", {"role": obj.role}
            else:
                old = Membership.objects.get(pk=obj.pk).role
                action, details = "role_changed", {"from": old, "to": obj.role}
            obj.save()
            record_event(
                action,
                request=request,
                tenant=obj.tenant,
                target=obj.user.email,
                details={**details, "via": "admin"},
            )
        formset.save_m2m()


@admin.register(Tenant)
class TenantAdmin(AuditedMembershipsMixin, admin.ModelAdmin):
    list_display = ("slug", "name", "is_vendor", "is_customer", "is_active", "created_at")
    list_filter = ("is_vendor", "is_customer", "is_active")
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]
