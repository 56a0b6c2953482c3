"""DRF permissions based on the role carried in the caller's token."""

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


IsTenantAdmin = HasTenantRole.with_roles(Role.ADMIN)


class InStaffGroup(BasePermission):
    group: str = ""
    message = "This action is reserved for platform staff."

    def has_permission(self, request, view) -> bool:
        return in_staff_group(request.user, self.group)

    @classmethod
    def of(cls, group: StaffGroup) -> type["InStaffGroup"]:
        return type(f"InStaffGroup_{group.value}", (cls,), {"group": group.value})
