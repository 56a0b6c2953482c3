"""Registry refusals, each with its stable code."""

from edgeplug.errors import BadRequest, Conflict, Forbidden, UnknownReference, Unprocessable


class NotAVendor(Forbidden, code="not_a_vendor"):
    pass


class UnknownKey(Unprocessable, code="unknown_key"):
    """The key id given with a signature names none of the vendor's keys: a content error of
    the signed upload (422), not an ``UnknownReference``."""


class KeyRevoked(Unprocessable, code="key_revoked"):
    pass


class KeyExists(Conflict, code="key_exists"):
    pass


class PublicKeyRequired(BadRequest, code="public_key_required"):
    """A key registered without its public key (missing or blank), at every door."""


class KeyNameTooLong(BadRequest, code="key_name_too_long"):
    """A key's label longer than its column: refused by ``register_key`` for every door."""


class VendorMismatch(Unprocessable, code="vendor_mismatch"):
    pass


class VersionExists(Conflict, code="version_exists"):
    pass


class AgentInUse(Conflict, code="agent_in_use"):
    pass


class AlreadyYanked(Conflict, code="already_yanked"):
    pass


class InvalidPlan(BadRequest, code="invalid_price_terms"):
    pass


class InvalidPlanName(BadRequest, code="invalid_plan_name"):
    """The name is printed on buyers' invoices: it must be text a document can carry."""


class PlanKeyExists(Conflict, code="plan_exists"):
    pass


class PlanRetired(Conflict, code="plan_retired"):
    pass


class UnknownPlan(UnknownReference, code="unknown_plan", thing="plan"):
    pass


class UnknownAgent(UnknownReference, code="unknown_agent", thing="agent"):
    pass


class UnknownVersion(UnknownReference, code="unknown_version", thing="version"):
    pass


class UnknownVendor(UnknownReference, code="unknown_vendor", thing="vendor"):
    pass


class PlanMismatch(BadRequest, code="plan_mismatch"):
    pass


class OwnAgent(BadRequest, code="own_agent"):
    pass


class NotAvailable(BadRequest, code="not_available"):
    pass


class IdempotencyKeyRequired(BadRequest, code="idempotency_key_required"):
    pass


class IdempotencyKeyReused(Conflict, code="idempotency_key_reused"):
    pass


class NotEntitled(Forbidden, code="not_entitled"):
    pass


class NoCertificate(Conflict, code="no_certificate"):
    pass


class DeviceExists(Conflict, code="device_exists"):
    pass


class InvalidCore(BadRequest, code="invalid_core"):
    """A device's core that no package may target: nothing could ever be deployed on it."""

    def extra(self) -> dict:
        return {"field": "core"}


class DeviceRevoked(Conflict, code="device_revoked"):
    pass


class SeatLimitReached(Conflict, code="seat_limit_reached"):
    pass


class IncompatibleCore(Unprocessable, code="incompatible_core"):
    pass


class AlreadyReplied(Conflict, code="already_replied"):
    pass
