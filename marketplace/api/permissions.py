"""Who may act for a vendor: the API's permission classes of ``marketplace.powers``."""

from edgeplug.tenancy.permissions import permission_class
from marketplace.powers import PUBLISH

IsVendorPublisher = permission_class(PUBLISH, "IsVendorPublisher")
