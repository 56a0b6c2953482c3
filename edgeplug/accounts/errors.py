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


class TenantRequired(DomainError, code="tenant_required", status=400):
    pass


class UnknownTenant(AuthError, code="unknown_tenant"):
    pass
