"""The billing powers of a vendor's members, named once for the API and the portal."""

from billing import payout_queries
from edgeplug.tenancy.models import Role
from edgeplug.tenancy.permissions import TenantPower

# Payouts and their statements: a vendor's admins and billing members, and a former vendor's
# (staff unticked "is vendor") while it keeps its agents, whose sales still count.
READ_PAYOUTS = TenantPower(
    roles=(Role.ADMIN, Role.BILLING),
    message="Only admins and billing members of a vendor tenant may read its payouts.",
    tenant_qualifies=payout_queries.has_payouts,
)
