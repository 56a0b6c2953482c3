"""Users in the admin, with their memberships inline. A user added here is audited as
``user_created``; a change to a user's account or powers
(active, staff, superuser, groups, email) is audited as ``user_changed``, a password set here
as ``password_changed`` (kept with its event or not at all). Users are never deleted here
(nor in bulk): a deletion would take their memberships with it, past the tenancy actions'
last-admin rule and unaudited, and meet the append-only audit log. Staff deactivate a user
instead. Their refresh tokens and TOTP devices are read-only (a lost device may be removed,
audited), and so are the staff groups (defined in code) and django-axes' sign-in records, but
for clearing a lockout (audited)."""

from collections import defaultdict
from contextvars import ContextVar

from axes.admin import AccessAttemptAdmin as BaseAccessAttemptAdmin
from axes.admin import AccessFailureLogAdmin as BaseAccessFailureLogAdmin
from axes.admin import AccessLogAdmin as BaseAccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.utils.html import format_html, format_html_join
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as BaseTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.token_blacklist.admin import (
    BlacklistedTokenAdmin as BaseBlacklistedTokenAdmin,
)
from rest_framework_simplejwt.token_blacklist.admin import (
    OutstandingTokenAdmin as BaseOutstandingTokenAdmin,
)
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from edgeplug.accounts.errors import EmailTaken
from edgeplug.accounts.models import DUPLICATE_EMAIL, User
from edgeplug.accounts.services import (
    change_password,
    record_user_change,
    record_user_created,
    remove_totp_device,
    unlock_account,
    user_access,
)
from edgeplug.core.admin import (
    ActionAdminMixin,
    FilterParametersChecked,
    ReadOnlyAdminMixin,
    SaveRefusedInTheFormMixin,
)
from edgeplug.core.locking import unique_or
from edgeplug.tenancy.admin import AuditedMembershipsMixin, MembershipInline

# The request of the user's password page being answered: Django makes its form as
# change_password_form(user, data), and the change's audit event names who made it.
_password_page_request: ContextVar = ContextVar("password_page_request")


class UserPasswordForm(AdminPasswordChangeForm):
    """Django's form of the page setting a user's password (or disabling password sign-in),
    the change saved with its audit event (``change_password``), or neither."""

    def save(self) -> User:
        usable = self.cleaned_data["set_usable_password"]
        password = self.cleaned_data["password1"] if usable else None
        change_password(self.user, password, request=_password_page_request.get(None))
        return self.user


@admin.register(User)
class UserAdmin(SaveRefusedInTheFormMixin, AuditedMembershipsMixin, BaseUserAdmin):
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
    change_password_form = UserPasswordForm

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # untick "active" instead (see the module docstring)

    def save_model(self, request, obj, form, change):
        # An email stored by another request between this form's checks and this save is the
        # form's error at the email (SaveRefusedInTheFormMixin). The groups are saved after
        # the user (save_related): compared once both are.
        form.access_before = user_access(obj) if change else None
        with unique_or(EmailTaken(DUPLICATE_EMAIL)):
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            record_user_change(form.instance, form.access_before, request=request)
        else:
            record_user_created(form.instance, request=request)

    def user_change_password(self, request, id, form_url=""):
        token = _password_page_request.set(request)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_page_request.reset(token)


# simplejwt registers its token admins with delete (and, for the blacklist, add and change)
# allowed: deleting a BlacklistedToken revives a rotated or signed-out refresh token, and
# none of it is audited. Tokens are written by sign-in, refresh and logout only.
class OutstandingTokenAdmin(ReadOnlyAdminMixin, BaseOutstandingTokenAdmin):
    # Its jti names it; the token itself is never shown: it works, and whoever read it could
    # act as its user through the API with no sign-in recorded.
    fields = ("jti", "user", "created_at", "expires_at")


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


STAFF_GROUPS_NOTE = (
    "Staff groups and what each may do are defined in code (edgeplug.tenancy.staff_groups), "
    "not here. Who is in a group is set on each user's page (Users, then the user's Groups), "
    "audited as user_changed."
)


class StaffGroupAdmin(ReadOnlyAdminMixin, BaseGroupAdmin):
    """The staff groups, view only: the code defines them and their grants
    (``STAFF_GROUP_PERMISSIONS``), and powers are looked up by group name
    (``in_staff_group``), so a group changed, renamed or deleted here would change its
    members' powers with no audit. Membership is set on the user's page (audited)."""

    actions = None
    list_display = ("name", "members")
    fieldsets = ((None, {"fields": ("name", "grants"), "description": STAFF_GROUPS_NOTE}),)
    readonly_fields = ("grants",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("user"))

    @admin.display(description="members", ordering="member_count")
    def members(self, group) -> int:
        return group.member_count

    @admin.display(description="permissions")
    def grants(self, group):
        permissions = group.permissions.select_related("content_type").order_by(
            "content_type__app_label", "codename"
        )
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} ({}.{})</li>",
                ((p.name, p.content_type.app_label, p.codename) for p in permissions),
            ),
        )

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"subtitle": STAFF_GROUPS_NOTE, **(extra_context or {})}
        )


# django-axes registers its tables with delete allowed: deleting access attempts lifts a
# sign-in lockout, and deleting log rows erases who signed in when; none of it audited.
class AccessAttemptAdmin(FilterParametersChecked, ReadOnlyAdminMixin, BaseAccessAttemptAdmin):
    """The failed sign-ins django-axes counts, view only. The one write is the action "Clear
    lock", which forgets the chosen rows (each an account at an address: ``unlock_account``,
    audited as ``account_unlocked``), not the account's rows at other addresses; it asks the
    permission deleting them would have asked."""

    actions = ["clear_lock"]

    def get_list_display(self, request):
        # The user agent, a long text, is on the attempt's page (and searched): in the list it
        # pushed the username and the failure count out of a 1280 px window.
        return [name for name in super().get_list_display(request) if name != "user_agent"]

    def has_clear_lock_permission(self, request) -> bool:
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.action(
        description="Clear lock: forget the chosen rows' failed sign-ins",
        permissions=["clear_lock"],
    )
    def clear_lock(self, request, queryset):
        named = queryset.exclude(username=None).exclude(username="")
        addresses = defaultdict(set)
        for email, address in named.values_list("username", "ip_address"):
            addresses[email].add(address)
        unnamed = queryset.count() - named.count()
        for email in sorted(addresses):
            event = unlock_account(
                email, addresses=addresses[email], actor=request.user, request=request
            )
            if event is not None:
                failures = event.details["failures"]
                self.message_user(
                    request, f"Lock of {email} cleared: {failures} failed sign-ins forgotten."
                )
        if unnamed:
            self.message_user(
                request,
                f"{unnamed} chosen row(s) name no account and were left as they are: "
                "they lapse at the end of the lockout period.",
                messages.WARNING,
            )


class AccessLogAdmin(FilterParametersChecked, ReadOnlyAdminMixin, BaseAccessLogAdmin):
    actions = None


class AccessFailureLogAdmin(FilterParametersChecked, ReadOnlyAdminMixin, BaseAccessFailureLogAdmin):
    actions = None


for model, model_admin in (
    (OutstandingToken, OutstandingTokenAdmin),
    (BlacklistedToken, BlacklistedTokenAdmin),
    (TOTPDevice, TOTPDeviceAdmin),
    (Group, StaffGroupAdmin),
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
