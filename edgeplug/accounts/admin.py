"""Users in the admin, with their memberships inline. A change to a user's account or powers
(active, staff, superuser, groups, email) is audited as ``user_changed``, a password set here
as ``password_changed``. Users are never deleted here (nor in bulk): a deletion would take
their memberships with it, past the tenancy actions' last-admin rule and unaudited, and meet
the append-only audit log. Staff deactivate a user instead."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from edgeplug.accounts.models import User
from edgeplug.accounts.services import record_password_change, record_user_change, user_access
from edgeplug.tenancy.admin import AuditedMembershipsMixin, MembershipInline


@admin.register(User)
class UserAdmin(AuditedMembershipsMixin, BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined")
    inlines = [MembershipInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # untick "active" instead (see the module docstring)

    def save_model(self, request, obj, form, change):
        # The groups are saved after the user (save_related): compared once both are.
        form.access_before = user_access(obj) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            record_user_change(form.instance, form.access_before, request=request)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # saved
            record_password_change(self.get_object(request, unquote(id)), request=request)
        return response
