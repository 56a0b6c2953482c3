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


class TenantRequired(DomainError):
    code = "tenant_required"
    status = 400


class UnknownTenant(AuthError):
    code = "unknown_tenant"
