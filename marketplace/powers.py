"""The vendor powers of a tenant's members, named once for the API and the portal.

Staff may untick "is vendor" on a tenant that keeps its agents (a former vendor): what of them
is public stays in the catalogue and on sale. So what takes something back (yank a version,
retire a plan, revoke a signing key) stays with its admins and developers, as for a vendor,
with the pages that show it; what adds or sells anew (upload, register a key, a new plan, a
price change, certify, a workflow package, a reply to a review) is a vendor's only."""

from dataclasses import dataclass

from edgeplug.tenancy.models import Role
from edgeplug.tenancy.permissions import TenantPower
from marketplace.models import Agent


def keeps_agents(tenant) -> bool:
    """A vendor, or a former one (staff unticked "is vendor") that keeps its agents: what it
    sold may still be on sale, and its sales still count (``billing.payout_queries``, whose
    ``has_payouts_filter`` is this as a query)."""
    return tenant.is_vendor or Agent.objects.filter(tenant=tenant).exists()


@dataclass(frozen=True)
class VendorPower(TenantPower):
    """A power of a vendor's members with ``roles``, which a former vendor's members with
    ``former_roles`` (some of ``roles``) keep while it keeps its agents (``keeps_agents``)."""

    former_roles: tuple[str, ...] = ()

    def __post_init__(self):
        if not set(self.former_roles) <= set(self.roles):
            raise ValueError("A former vendor's roles are some of a vendor's.")

    def roles_in(self, tenant) -> tuple[str, ...]:
        if tenant is None or not self.tenant_qualifies(tenant):
            return ()
        if tenant.is_vendor:
            return self.roles
        return self.former_roles if self.former_roles and keeps_agents(tenant) else ()


# Admins and developers: they publish, and they take back.
_PUBLISHERS = (Role.ADMIN, Role.DEVELOPER)

# The vendor's own pages in the portal (dashboard, agents and versions, workflows): any
# member of a vendor, and a former vendor's admins and developers, to find what to take back.
VENDOR_MEMBER = VendorPower(
    roles=tuple(Role.values),
    former_roles=_PUBLISHERS,
    message="Only members of a vendor tenant may do this.",
)

# What adds or sells anew: upload, register a key, certify, a plan and its price, a workflow
# package, a reply to a review. A vendor's admins and developers (a former vendor no longer
# publishes).
PUBLISH = VendorPower(
    roles=_PUBLISHERS,
    message="Only admins and developers of a vendor tenant may do this.",
)

# What takes back what a vendor published, and the lists to find it in: yank a version,
# retire a plan, revoke a signing key. A vendor's admins and developers, and a former
# vendor's.
TAKE_BACK = VendorPower(
    roles=_PUBLISHERS,
    former_roles=_PUBLISHERS,
    message="Only admins and developers of a vendor tenant, or of a former one, may do this.",
)
