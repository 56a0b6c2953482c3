"""Who may act for a vendor: admins and developers of a vendor tenant."""

from rest_framework.permissions import BasePermission

from edgeplug.tenancy.models import Role
from edgeplug.tenancy.permissions import has_role


class IsVendorPublisher(BasePermission):
    message = "Only admins and developers of a vendor tenant may do this."

    def has_permission(self, request, view) -> bool:
        tenant = getattr(request, "tenant", None)
        return (
            tenant is not None
            and tenant.is_vendor
            and has_role(request, Role.ADMIN, Role.DEVELOPER)
        )
