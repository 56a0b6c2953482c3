"""DRF permissions based on the role carried in the caller's token."""

from collections.abc import Callable
from dataclasses import dataclass

from django_otp.models import Device
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from edgeplug.tenancy.models import Role, StaffGroup


def in_staff_group(user, group: str) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=group).exists()


def any_tenant(tenant) -> bool:
    return True


@dataclass(frozen=True)
class TenantPower:
    """A power of a tenant's members (docs/roles.md): the roles that have it and what their
    tenant must be (any tenant, a vendor, one with payouts …). Named once beside its rule; the
    API's permission class is ``permission_class(power)``, the portal's pages pass it to
    ``vendor_page(power=…)``."""

    roles: tuple[str, ...]
    message: str = "Your role in this tenant does not allow this action."
    tenant_qualifies: Callable[[object], bool] = any_tenant

    def roles_in(self, tenant) -> tuple[str, ...]:
        """The roles that hold the power in ``tenant`` (some of ``roles``): none where it does
        not qualify."""
        return self.roles if tenant is not None and self.tenant_qualifies(tenant) else ()

    def held(self, tenant, role: str | None) -> bool:
        return role in self.roles_in(tenant)


NO_TENANT = (
    "This sign-in is for no tenant: your account is a member of none. Once a tenant's admin "
    "adds you to theirs, sign in again."
)


def permission_class(power: TenantPower, name: str) -> type[BasePermission]:
    """The DRF permission of ``power``, for the caller's tenant and role (from its token)."""

    def has_permission(self, request, view) -> bool:
        tenant = getattr(request, "tenant", None)
        token = getattr(request, "auth", None)
        if tenant is None and hasattr(token, "get") and token.get("tenant_id") is None:
            # Not "your role": a token signed in for no tenant has none (its account is a
            # member of none: new, or removed).
            self.message = NO_TENANT
        return power.held(tenant, getattr(request, "role", None))

    return type(
        name,
        (BasePermission,),
        {"message": power.message, "power": power, "has_permission": has_permission},
    )


def _roles(name: str, *roles: str) -> type[BasePermission]:
    return permission_class(TenantPower(roles=roles), name)


# The tenant roles' powers (docs/roles.md) that several views share, named once; a power with
# a rule of its own for the tenant (a vendor's publishers, its payout readers) is named beside
# its views (marketplace.powers, billing.powers). tests/security/test_role_matrix.py checks
# every route's roles.
# Any member of the tenant (its orders; the portal's password page).
MEMBER = TenantPower(roles=tuple(Role.values))
# Its admins: its members and their roles (the API's /tenant/members and the portal's team
# page, a former vendor's as well) and its audit trail.
TENANT_ADMIN = TenantPower(roles=(Role.ADMIN,))
IsTenantAdmin = permission_class(TENANT_ADMIN, "IsTenantAdmin")
IsMember = permission_class(MEMBER, "IsMember")
# Orders, saved cards, invoices and the billing account.
CanBuy = _roles("CanBuy", Role.ADMIN, Role.BILLING)
# Devices, their tokens and deployments, and the usage they report.
CanManageDevices = _roles("CanManageDevices", Role.ADMIN, Role.OPERATOR)
CanReadUsage = _roles("CanReadUsage", Role.ADMIN, Role.OPERATOR, Role.BILLING)
CanReview = _roles("CanReview", Role.ADMIN, Role.DEVELOPER, Role.OPERATOR)


def second_factor_verified(request) -> bool:
    """Whether this request's sign-in passed TOTP with a device its user still has confirmed:
    the JWT's ``mfa_device`` claim while that device is there (a device a superuser removed
    takes the staff powers of the tokens signed in with it away for good, a new enrolment
    too), or django-otp's verification of the session (which ends with the device; the admin
    requires it of every staff user anyway)."""
    token = getattr(request, "auth", None)
    if token is not None and hasattr(token, "get"):
        return _device_confirmed(request, token.get("mfa_device"))
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def _device_confirmed(request, persistent_id) -> bool:
    """One look per request (a staff check may run several times in one)."""
    held = getattr(request, "_confirmed_device", None)
    if held is None:
        device = Device.from_persistent_id(persistent_id) if persistent_id else None
        held = bool(device and device.user_id == request.user.pk and device.confirmed)
        request._confirmed_device = held
    return held


def acts_as_staff(request, group: str) -> bool:
    """Platform staff powers through the API: the group, and a second factor at sign-in."""
    return in_staff_group(request.user, group) and second_factor_verified(request)


class MfaRequired(PermissionDenied):
    default_code = "mfa_required"
    default_detail = (
        "Platform staff actions need a sign-in with TOTP: enrol a device "
        "(POST /api/v1/auth/mfa/totp) and sign in again with `otp`."
    )


class InStaffGroup(BasePermission):
    group: str = ""
    message = "This action is reserved for platform staff."

    def has_permission(self, request, view) -> bool:
        if not in_staff_group(request.user, self.group):
            return False
        if not second_factor_verified(request):
            raise MfaRequired()
        return True

    @classmethod
    def of(cls, group: StaffGroup) -> type["InStaffGroup"]:
        return type(f"InStaffGroup_{group.value}", (cls,), {"group": group.value})
