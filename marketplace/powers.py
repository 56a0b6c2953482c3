"""The vendor powers of a tenant's members, named once for the API and the portal."""

from edgeplug.tenancy.models import Role
from edgeplug.tenancy.permissions import TenantPower


def is_vendor(tenant) -> bool:
    return tenant.is_vendor


# The vendor's own pages in the portal (dashboard, agents and versions, workflows): any
# member of a vendor.
VENDOR_MEMBER = TenantPower(
    roles=tuple(Role.values),
    message="Only members of a vendor tenant may do this.",
    tenant_qualifies=is_vendor,
)

# Keys, uploads, certification, plans, WPKs, replies to reviews: a vendor's admins and
# developers (a former vendor no longer publishes).
PUBLISH = TenantPower(
    roles=(Role.ADMIN, Role.DEVELOPER),
    message="Only admins and developers of a vendor tenant may do this.",
    tenant_qualifies=is_vendor,
)
