"""Users in the admin, with their memberships inline. A user added here is audited as
``user_created``; a change to a user's account or powers
(active, staff, superuser, groups, email) is audited as ``user_changed``, a password set here
as ``password_changed``. Users are never deleted here (nor in bulk): a deletion would take
their memberships with it, past the tenancy actions' last-admin rule and unaudited, and meet
the append-only audit log. Staff deactivate a user instead. Their refresh tokens and TOTP
devices are read-only (a lost device may be removed, audited)."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as BaseTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.token_blacklist.admin import (
    BlacklistedTokenAdmin as BaseBlacklistedTokenAdmin,
)
from rest_framework_simplejwt.token_blacklist.admin import (
    OutstandingTokenAdmin as BaseOutstandingTokenAdmin,
)
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from edgeplug.accounts.models import User
from edgeplug.accounts.services import (
    record_password_change,
    record_user_change,
    record_user_created,
    remove_totp_device,
    user_access,
)
from edgeplug.core.admin import ActionAdminMixin, ReadOnlyAdminMixin
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
        else:
            record_user_created(form.instance, request=request)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # saved
            record_password_change(self.get_object(request, unquote(id)), request=request)
        return response


# simplejwt registers its token admins with delete (and, for the blacklist, add and change)
# allowed: deleting a BlacklistedToken revives a rotated or signed-out refresh token, and
# none of it is audited. Tokens are written by sign-in, refresh and logout only.
class OutstandingTokenAdmin(ReadOnlyAdminMixin, BaseOutstandingTokenAdmin): ...


class BlacklistedTokenAdmin(ReadOnlyAdminMixin, BaseBlacklistedTokenAdmin):
    actions = None


class TOTPDeviceAdmin(ActionAdminMixin, BaseTOTPDeviceAdmin):
    """Who has which device, view only. A device is added only by enrolment, which proves a
    code and is audited (``confirm_totp_enrolment``); its key and QR code are never shown
    (OTP_ADMIN_HIDE_SENSITIVE_DATA in settings). Removing a lost device is allowed and
    audited (``remove_totp_device``)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def config_view(self, request, pk):
        raise PermissionDenied

    def qrcode_view(self, request, pk):
        raise PermissionDenied

    delete_action = staticmethod(remove_totp_device)


for model, model_admin in (
    (OutstandingToken, OutstandingTokenAdmin),
    (BlacklistedToken, BlacklistedTokenAdmin),
    (TOTPDevice, TOTPDeviceAdmin),
):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
