"""Authentication failures, each with its stable code."""

from edgeplug.core.errors import DomainError


class AuthError(DomainError):
    status = 401


class InvalidCredentials(AuthError):
    code = "invalid_credentials"


class InactiveUser(AuthError):
    code = "account_inactive"


class AccountLocked(DomainError):
    code = "account_locked"
    status = 403


class OtpRequired(AuthError):
    code = "otp_required"


class InvalidOtp(AuthError):
    code = "otp_invalid"


OTP_THROTTLED_MESSAGE = (
    "Too many wrong TOTP codes: verification is paused for a few seconds. "
    "Wait, then enter a fresh code."
)


class OtpThrottled(DomainError):
    """django-otp refuses to verify any code (even the right one) for a while after a failure."""

    code = "otp_throttled"
    status = 429

    def __init__(self, retry_after: int):
        super().__init__(OTP_THROTTLED_MESSAGE)
        self.retry_after = retry_after


class TenantRequired(DomainError):
    code = "tenant_required"
    status = 400


class UnknownTenant(AuthError):
    code = "unknown_tenant"
