"""Authentication failures, each with its stable code."""

from edgeplug.errors import BadRequest, Conflict, DomainError, Forbidden, Throttled


class AuthError(DomainError, status=401): ...


class InvalidCredentials(AuthError, code="invalid_credentials"): ...


class InactiveUser(AuthError, code="user_inactive"):
    """A deactivated account, told alike at sign-in, refresh and on a request with a token
    (simplejwt's ``user_inactive``)."""


class AccountLocked(Forbidden, code="account_locked"):
    """Too many failed sign-ins from this address (django-axes): ``retry_after`` is the
    lockout period in seconds, the longest the caller waits."""


# The request field each is about (the body's ``field``; the portal marks its own field).
class OtpRequired(AuthError, code="otp_required"):
    field = "otp"


class InvalidOtp(AuthError, code="otp_invalid"):
    """A wrong second factor at sign-in."""

    field = "otp"


class EnrolmentCodeInvalid(BadRequest, code="enrolment_code_invalid"):
    """A wrong code confirming a TOTP enrolment: the request is wrong, the caller is signed in."""

    field = "otp"


class NoEnrolmentPending(BadRequest, code="no_enrolment_pending"): ...


class DeviceNeedsCodeSignIn(Forbidden, code="mfa_required"):
    """Starting or confirming another TOTP enrolment on an account with a confirmed device,
    from a sign-in made without a code (one from before the device, which a holder of the
    password alone may keep refreshing): it would plant a device whose key they know."""


class EmailTaken(Conflict, code="email_taken"):
    """An account uses this email already (in any spelling: ``normalize_email``), or one made
    at the same time took it first: the unique constraint decides."""

    field = "email"


class MfaAlreadyEnabled(Conflict, code="mfa_already_enabled"):
    """A confirm with nothing pending whose enrolment was confirmed already (a retry whose
    answer was lost): told so, not to start another one."""


OTP_THROTTLED_MESSAGE = (
    "Too many wrong TOTP codes: verification is paused for a few seconds. "
    "Wait, then enter a fresh code."
)


class OtpThrottled(Throttled, code="otp_throttled"):
    """django-otp refuses to verify any code (even the right one) for a while after a failure."""

    def __init__(self, retry_after: int):
        super().__init__(OTP_THROTTLED_MESSAGE, retry_after=retry_after)


class TenantRequired(BadRequest, code="tenant_required"):
    field = "tenant"


class UnknownTenant(AuthError, code="unknown_tenant"):
    field = "tenant"
