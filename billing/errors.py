"""Payment refusals, each with its stable code."""

import math

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


class BatchTooLarge(DomainError, code="batch_too_large", status=400):
    """More events in one batch than the server takes (1,000)."""


class MalformedBatch(DomainError, code="malformed_batch", status=400):
    """The body is not ``{"events": [...]}``."""


class InvalidEvent(DomainError, code="invalid_event", status=400):
    """One event breaks the format: the whole batch is refused and nothing is stored."""

    def __init__(self, detail: str, *, index: int, field: str = "", code: str | None = None):
        super().__init__(f"events[{index}]{'.' + field if field else ''}: {detail}", code=code)
        self.index, self.field = index, field

    def extra(self) -> dict:
        return {"index": self.index, "field": self.field}


class UnknownGrouping(DomainError, code="invalid_group_by", status=400):
    """group_by names something usage cannot be grouped by."""


class InvalidPeriod(DomainError, code="invalid_period", status=400):
    """from/to are not dates, or from is not before to."""


class DeviceThrottled(DomainError, code="throttled", status=429):
    """The device sent more reports than its budget (``THROTTLE_DEVICE``) allows."""

    def __init__(self, retry_after: float):
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"Too many usage reports from this device: retry in {seconds} s.")
        self.retry_after = seconds


class InvoiceImmutable(DomainError, code="invoice_immutable", status=409):
    """A finalized invoice or its lines cannot change: void it or issue a credit note."""


class InvoiceNotDraft(DomainError, code="invoice_not_draft", status=409):
    """Only a draft takes adjustment lines or is finalized."""


class InvoiceNotFinalized(DomainError, code="invoice_not_finalized", status=409):
    """A draft has no number and no document yet: its PDF exists once it is finalized."""


class InvoiceHasNoRecipients(DomainError, code="invoice_no_recipients", status=409):
    """The invoice's billing account had no invoice emails when it was issued."""


class InvoiceNotVoidable(DomainError, code="invoice_not_voidable", status=409):
    """Only a finalized, unpaid invoice can be voided; a paid one takes a credit note."""


class InvoiceNotCreditable(DomainError, code="invoice_not_creditable", status=409):
    """Credit notes correct finalized invoices that are not void, and only lines not yet
    credited in full."""


class BillingAccountMissing(DomainError, code="billing_account_missing", status=409):
    """An invoice cannot be issued without the buyer's legal name and address."""


class InvalidAdjustment(DomainError, code="invalid_adjustment", status=400):
    """An adjustment needs a description and a non-zero amount in minor units."""


class InvalidBillingAccount(DomainError, code="invalid_billing_account", status=400):
    """A billing account field breaks its format (country, currency, emails, tax rate)."""


class InvoiceNotCollectable(DomainError, code="invoice_not_collectable", status=409):
    """Only a finalized, unpaid invoice (open, payment_failed, uncollectible) takes a payment."""


class InvalidPaymentReference(DomainError, code="invalid_payment_reference", status=400):
    """An offline payment needs the reference of the transfer (1 to 255 characters)."""


class PeriodNotEnded(DomainError, code="period_not_ended", status=409):
    """A month is closed once it has ended; closing the current month early needs ``force``
    (usage still to come is billed as late usage next month), a future month never."""
