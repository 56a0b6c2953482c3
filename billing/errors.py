"""Payment refusals, each with its stable code."""

from edgeplug.errors import DomainError


class PaymentsNotConfigured(DomainError, code="payments_not_configured", status=503):
    pass


class PaymentProcessorError(DomainError, code="payment_processor_error", status=502):
    pass


class SetupIncomplete(DomainError, code="setup_incomplete", status=409):
    pass


class SetupNotYours(DomainError, code="not_found", status=404):
    pass


class InvalidWebhook(DomainError, code="invalid_signature", status=400):
    pass


class PaymentMethodRequired(DomainError, code="payment_method_required", status=402):
    pass


class CardDeclined(DomainError, code="card_declined", status=402):
    pass


class PaymentFailed(DomainError, code="payment_failed", status=402):
    pass


class RetryLater(DomainError, code="retry_later", status=503):
    pass
