"""Registry refusals, each with its stable code."""

from edgeplug.errors import BadRequest, Conflict, Forbidden, UnknownReference, Unprocessable


class NotAVendor(Forbidden, code="not_a_vendor"): ...


class UnknownKey(Unprocessable, code="unknown_key"):
    """The key id given with a signature names none of the vendor's keys: a content error of
    the signed upload (422), not an ``UnknownReference``."""


class KeyRevoked(Unprocessable, code="key_revoked"): ...


class KeyExists(Conflict, code="key_exists"): ...


class PublicKeyRequired(BadRequest, code="public_key_required"):
    """A key registered without its public key (missing or blank), at every door."""


class PrivateKeyGiven(BadRequest, code="private_key_given"):
    """The key file ``edgeplug keygen`` writes, which holds the private key, given as the
    public key: refused for what it is by ``register_key``, at every door."""


class KeyNameTooLong(BadRequest, code="key_name_too_long"):
    """A key's label longer than its column: refused by ``register_key`` for every door."""


class InvalidKeyName(BadRequest, code="invalid_key_name"):
    """A key's label the team could not read as typed (a control or bidirectional character,
    or only invisible ones): refused by ``register_key`` for every door."""


class VendorMismatch(Unprocessable, code="vendor_mismatch"): ...


class VersionExists(Conflict, code="version_exists"): ...


class AgentInUse(Conflict, code="agent_in_use"): ...


class AlreadyYanked(Conflict, code="already_yanked"): ...


class InvalidPlan(BadRequest, code="invalid_price_terms"): ...


class TextRefused(BadRequest):
    """Text others read, refused for what ``edgeplug.text`` says of it (``refusal``), the
    detail naming the ``field`` that holds it."""

    def __init__(self, field: str, refusal: str):
        super().__init__(f"{field}: {refusal}", field=field)


class InvalidPlanName(TextRefused, code="invalid_plan_name"):
    """The name is printed on buyers' invoices and read in the catalogue: text a document can
    carry, that shows as written (``edgeplug.text.unreadable``)."""


class PlanKeyExists(Conflict, code="plan_exists"): ...


class PlanRetired(Conflict, code="plan_retired"): ...


class PlanChanged(Conflict, code="plan_changed", status=412):
    """A plan's name or price was changed since the change was made against it (a form opened
    before a colleague's change, an API client's ``If-Match``): saving it would undo that change
    unseen. 412, as HTTP answers a precondition that no longer holds."""


class UnknownPlan(UnknownReference, code="unknown_plan", thing="plan"): ...


class UnknownAgent(UnknownReference, code="unknown_agent", thing="agent"): ...


class UnknownVersion(UnknownReference, code="unknown_version", thing="version"): ...


class UnknownVendor(UnknownReference, code="unknown_vendor", thing="vendor"): ...


class PlanMismatch(BadRequest, code="plan_mismatch"): ...


class OwnAgent(BadRequest, code="own_agent"): ...


class NotAvailable(BadRequest, code="not_available"): ...


class AmountTooLarge(BadRequest, code="amount_too_large"):
    """More seats than one card charge can pay (``charge_minimums.MAXIMUM_CHARGE``)."""


class IdempotencyKeyRequired(BadRequest, code="idempotency_key_required"): ...


class InvalidIdempotencyKey(BadRequest, code="invalid_idempotency_key"):
    """Sent, but not a key: too long, or a character outside printable ASCII."""


class IdempotencyKeyReused(Conflict, code="idempotency_key_reused"): ...


class NotEntitled(Forbidden, code="not_entitled"): ...


class NoCertificate(Conflict, code="no_certificate"): ...


class DeviceExists(Conflict, code="device_exists"): ...


class InvalidDeviceText(TextRefused, code="invalid_device_text"):
    """A device's name or hardware id holding a control character (``edgeplug.text``): both
    show in the tenant's lists, reports and audit trail. ``field`` names which, as
    ``invalid_core`` does."""


class InvalidCore(BadRequest, code="invalid_core"):
    """A device's core that no package may target: nothing could ever be deployed on it."""

    field = "core"


class DeviceRevoked(Conflict, code="device_revoked"): ...


class SeatLimitReached(Conflict, code="seat_limit_reached"): ...


class IncompatibleCore(Unprocessable, code="incompatible_core"): ...


class AlreadyReplied(Conflict, code="already_replied"): ...


class ReviewChanged(Conflict, code="review_changed", status=412): ...


class ReplyRequired(BadRequest, code="reply_required"):
    """A vendor's reply to a review with no text (missing, empty or only blanks), at every
    door."""


class ReplyTooLong(BadRequest, code="reply_too_long"):
    """A vendor's reply longer than the review's reply column holds, at every door."""


class VersionsDiffer(BadRequest, code="versions_differ"):
    """A body naming a version twice (by its id, and by its agent and version string) that
    names two versions: which one was meant is not for the server to guess."""


class InvalidReviewText(TextRefused, code="invalid_review_text"):
    """A review's title or text that other tenants would read otherwise than it was written
    (a control or bidirectional character) or as blank (only invisible characters); ``field``
    names which."""


class NotCancellable(Conflict, code="not_cancellable"):
    """Only a metered plan bills every month, so only it is cancelled: a one-time or free
    entitlement has no charge to come to stop."""


class EntitlementEnded(Conflict, code="entitlement_ended"):
    """The entitlement is no longer valid (revoked, expired, its cancellation come): there is
    nothing left to cancel or resume."""


class NotCancelled(Conflict, code="not_cancelled"): ...
