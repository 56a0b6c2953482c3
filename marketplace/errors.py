"""Registry refusals, each with its stable code."""

from edgeplug.errors import Conflict, DomainError, Forbidden


class NotAVendor(Forbidden, code="not_a_vendor"):
    pass


class UnknownKey(DomainError, code="unknown_key", status=422):
    pass


class KeyRevoked(DomainError, code="key_revoked", status=422):
    pass


class KeyExists(Conflict, code="key_exists"):
    pass


class VendorMismatch(DomainError, code="vendor_mismatch", status=422):
    pass


class VersionExists(Conflict, code="version_exists"):
    pass


class AgentInUse(Conflict, code="agent_in_use"):
    pass


class AlreadyYanked(Conflict, code="already_yanked"):
    pass
