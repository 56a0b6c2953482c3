"""Registry refusals, each with its stable code."""

from edgeplug.core.errors import Conflict, DomainError, Forbidden


class NotAVendor(Forbidden):
    code = "not_a_vendor"


class UnknownKey(DomainError):
    code = "unknown_key"
    status = 422


class KeyRevoked(DomainError):
    code = "key_revoked"
    status = 422


class KeyExists(Conflict):
    code = "key_exists"


class VendorMismatch(DomainError):
    code = "vendor_mismatch"
    status = 422


class VersionExists(Conflict):
    code = "version_exists"


class AgentInUse(Conflict):
    code = "agent_in_use"


class AlreadyYanked(Conflict):
    code = "already_yanked"
