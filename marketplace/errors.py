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


class InvalidPlan(DomainError, code="invalid_price_terms", status=400):
    pass


class PlanKeyExists(Conflict, code="plan_exists"):
    pass


class PlanRetired(Conflict, code="plan_retired"):
    pass


class UnknownPlan(DomainError, code="unknown_plan", status=400):
    pass


class PlanMismatch(DomainError, code="plan_mismatch", status=400):
    pass


class OwnAgent(DomainError, code="own_agent", status=400):
    pass


class NotAvailable(DomainError, code="not_available", status=400):
    pass


class IdempotencyKeyRequired(DomainError, code="idempotency_key_required", status=400):
    pass


class IdempotencyKeyReused(Conflict, code="idempotency_key_reused"):
    pass


class NotEntitled(Forbidden, code="not_entitled"):
    pass


class NoCertificate(Conflict, code="no_certificate"):
    pass


class DeviceExists(Conflict, code="device_exists"):
    pass


class DeviceRevoked(Conflict, code="device_revoked"):
    pass


class SeatLimitReached(Conflict, code="seat_limit_reached"):
    pass


class IncompatibleCore(DomainError, code="incompatible_core", status=422):
    pass


class AlreadyReplied(Conflict, code="already_replied"):
    pass
