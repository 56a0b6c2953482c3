"""Who may act for a vendor: the API's permission classes of ``marketplace.powers``."""

from rest_framework.permissions import SAFE_METHODS

from edgeplug.tenancy.permissions import permission_class
from marketplace.powers import PUBLISH, TAKE_BACK

IsVendorPublisher = permission_class(PUBLISH, "IsVendorPublisher")
CanTakeBack = permission_class(TAKE_BACK, "CanTakeBack")


class ReadToTakeBack:
    """A view of what a vendor takes back from (its keys, an agent's plans): read by those who
    take back (``CanTakeBack``, a former vendor's too), written by those who publish."""

    def get_permissions(self):
        read = self.request.method in SAFE_METHODS
        return [CanTakeBack() if read else IsVendorPublisher()]
