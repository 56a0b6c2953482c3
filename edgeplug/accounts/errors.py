"""Authentication failures, each with its stable code."""

from edgeplug.errors import DomainError


class AuthError(DomainError, status=401):
    pass


class InvalidCredentials(AuthError, code="invalid_credentials"):
    pass


class InactiveUser(AuthError, code="account_inactive"):
    pass


class AccountLocked(DomainError, code="account_locked", status=403):
    pass


class OtpRequired(AuthError, code="otp_required"):
    pass


class InvalidOtp(AuthError, code="otp_invalid"):
    pass


OTP_THROTTLED_MESSAGE = (
    "Too many wrong TOTP codes: verification is paused for a few seconds. "
    "Wait, then enter a fresh code."
)


class OtpThrottled(DomainError, code="otp_throttled", status=429):
    """django-otp refuses to verify any code (even the right one) for a while after a failure."""

    def __init__(self, retry_after: int):
        super().__init__(OTP_THROTTLED_MESSAGE)
        self.retry_after = retry_after


class TenantRequired(DomainError, code="tenant_required", status=400):
    pass


class UnknownTenant(AuthError, code="unknown_tenant"):
    pass
