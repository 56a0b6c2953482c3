"""Payment refusals, each with its stable code."""

from edgeplug.core.errors import DomainError


class PaymentsNotConfigured(DomainError):
    code = "payments_not_configured"
    status = 503


class PaymentProcessorError(DomainError):
    code = "payment_processor_error"
    status = 502


class SetupIncomplete(DomainError):
    code = "setup_incomplete"
    status = 409


class SetupNotYours(DomainError):
    code = "not_found"
    status = 404


class InvalidWebhook(DomainError):
    code = "invalid_signature"
    status = 400


class PaymentMethodRequired(DomainError):
    code = "payment_method_required"
    status = 402


class CardDeclined(DomainError):
    code = "card_declined"
    status = 402


class PaymentFailed(DomainError):
    code = "payment_failed"
    status = 402


class RetryLater(DomainError):
    code = "retry_later"
    status = 503
