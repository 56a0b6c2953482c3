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


class InvalidPlan(DomainError):
    code = "invalid_price_terms"
    status = 400


class PlanKeyExists(Conflict):
    code = "plan_exists"


class PlanRetired(Conflict):
    code = "plan_retired"


class UnknownPlan(DomainError):
    code = "unknown_plan"
    status = 400


class PlanMismatch(DomainError):
    code = "plan_mismatch"
    status = 400


class OwnAgent(DomainError):
    code = "own_agent"
    status = 400


class NotAvailable(DomainError):
    code = "not_available"
    status = 400


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    status = 400


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class NotEntitled(Forbidden):
    code = "not_entitled"


class NoCertificate(Conflict):
    code = "no_certificate"


class DeviceExists(Conflict):
    code = "device_exists"


class DeviceRevoked(Conflict):
    code = "device_revoked"


class SeatLimitReached(Conflict):
    code = "seat_limit_reached"


class IncompatibleCore(DomainError):
    code = "incompatible_core"
    status = 422


class AlreadyReplied(Conflict):
    code = "already_replied"
