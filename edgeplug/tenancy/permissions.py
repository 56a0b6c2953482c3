"""DRF permissions based on the role carried in the caller's token."""

from collections.abc import Callable
from dataclasses import dataclass

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from edgeplug.tenancy.models import Role, StaffGroup


def has_role(request, *roles: str) -> bool:
    return getattr(request, "tenant", None) is not None and getattr(request, "role", None) in roles


def in_staff_group(user, group: str) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=group).exists()


class HasTenantRole(BasePermission):
    """Subclass with ``roles = (...)``, or use ``HasTenantRole.with_roles(...)``."""

    roles: tuple[str, ...] = ()
    message = "Your role in this tenant does not allow this action."

    def has_permission(self, request, view) -> bool:
        return has_role(request, *self.roles)

    @classmethod
    def with_roles(cls, *roles: str) -> type["HasTenantRole"]:
        return type(f"HasTenantRole_{'_'.join(roles)}", (cls,), {"roles": roles})


# The tenant roles' powers (docs/roles.md) that several views share, named once; a rule with
# a condition of its own (a vendor tenant's publishers, its billing members) is a permission
# class beside its views. tests/security/test_role_matrix.py checks every route's roles.
IsTenantAdmin = HasTenantRole.with_roles(Role.ADMIN)
IsMember = HasTenantRole.with_roles(*Role.values)
# Orders, saved cards, invoices and the billing account.
CanBuy = HasTenantRole.with_roles(Role.ADMIN, Role.BILLING)
# Devices, their tokens and deployments, and the usage they report.
CanManageDevices = HasTenantRole.with_roles(Role.ADMIN, Role.OPERATOR)
CanReadUsage = HasTenantRole.with_roles(Role.ADMIN, Role.OPERATOR, Role.BILLING)
CanReview = HasTenantRole.with_roles(Role.ADMIN, Role.DEVELOPER, Role.OPERATOR)


def any_tenant(tenant) -> bool:
    return True


@dataclass(frozen=True)
class TenantPower:
    """A power of a tenant's members (docs/roles.md) that holds only for some tenants: the
    roles that have it and what their tenant must be (a vendor, one with payouts …). Named
    once beside its rule; the API's permission class is ``permission_class(power)``, the
    portal's pages pass it to ``vendor_page(power=…)``."""

    roles: tuple[str, ...]
    message: str
    tenant_qualifies: Callable[[object], bool] = any_tenant

    def held(self, tenant, role: str | None) -> bool:
        return tenant is not None and role in self.roles and self.tenant_qualifies(tenant)


def permission_class(power: TenantPower, name: str) -> type[BasePermission]:
    """The DRF permission of ``power``, for the caller's tenant and role (from its token)."""

    def has_permission(self, request, view) -> bool:
        return power.held(getattr(request, "tenant", None), getattr(request, "role", None))

    return type(
        name,
        (BasePermission,),
        {"message": power.message, "power": power, "has_permission": has_permission},
    )


def second_factor_verified(request) -> bool:
    """Whether this request's sign-in passed TOTP: the JWT's ``mfa`` claim, or django-otp's
    verification of the session (the admin requires it of every staff user anyway)."""
    token = getattr(request, "auth", None)
    if token is not None and hasattr(token, "get"):
        return bool(token.get("mfa"))
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


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
