"""Payment refusals, each with its stable code."""

from edgeplug.errors import (
    BadRequest,
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    Throttled,
    Unavailable,
    UnknownReference,
    retry_seconds,
)


class PaymentRequired(DomainError, code="payment_required", status=402):
    """The payment could not be taken: no method on file, a declined card, a failed charge."""


class PaymentsNotConfigured(Unavailable, code="payments_not_configured"):
    """This server has no Stripe keys (``STRIPE_*``): only free plans and offline payments."""


class PaymentProcessorError(DomainError, code="payment_processor_error", status=502):
    """Stripe failed or could not be reached (not a decline); the payment tasks retry it.

    ``key_spent`` says whether a retry of the call needs a new idempotency key: Stripe
    answered, so the same key would only get the same answer again (``billing.payments``
    decides, ``_key_spent``). False (the default) keeps the key: the call may have been
    made without our hearing of it, and only the same key stops Stripe making it twice."""

    def __init__(self, detail: str, *, key_spent: bool = False):
        super().__init__(detail)
        self.key_spent = key_spent


class SetupIncomplete(Conflict, code="setup_incomplete"):
    """The SetupIntent has not succeeded: the card must confirm it before it is saved."""


class PaymentMethodRemoved(Conflict, code="payment_method_removed"):
    """The setup intent's card was saved and then removed: it is not saved again (the save
    sent again, or Stripe's webhook for it arriving late); a new setup saves a card."""


class PaymentNotOurs(Conflict, code="payment_not_ours"):
    """A PaymentIntent names one of our invoices or orders in its metadata but is not its
    payment (another customer's, another currency or sum): it changes nothing; the Stripe
    webhook acknowledges it (``payments.refuse_foreign_payment``)."""


class PaymentDisputed(Conflict, code="payment_disputed"):
    """A refund of a payment whose charge is under dispute (``payments.open_dispute``):
    Stripe refuses it (``charge_disputed``), and given before a dispute is lost it would give
    the money back twice. Refused before Stripe is asked; the dispute's close lifts it."""


class UnknownSetupIntent(UnknownReference, code="unknown_setup_intent", thing="setup intent"):
    """No setup intent of this tenant's has that id: Stripe knows none, or it is another
    tenant's (answered alike)."""


class InvalidWebhook(BadRequest, code="invalid_signature"):
    """A webhook body that is not a Stripe event, or does not match its ``Stripe-Signature``."""


class PaymentMethodRequired(PaymentRequired, code="payment_method_required"):
    """The tenant has no saved card to charge."""


class PaymentOverdue(PaymentRequired, code="payment_overdue"):
    """The tenant has an uncollectible invoice (its entitlements are suspended for it): it
    orders nothing more until it is paid."""


class CardDeclined(PaymentRequired, code="card_declined"):
    """The card was declined: a paid order fails with this code."""


class PaymentFailed(PaymentRequired, code="payment_failed"):
    """The payment failed other than by a decline (3-D Secure asked off-session, an error of
    the processor's): a paid order, or a tenant's payment of an invoice, fails with this
    code."""


def charge_refusal(failure_code: str, detail: str) -> PaymentRequired:
    """The 402 of a charge that failed (an order's, an invoice's the tenant paid now), by the
    processor's failure code: ``card_declined`` for a decline, else ``payment_failed``."""
    error = CardDeclined if failure_code == CardDeclined.code else PaymentFailed
    return error(detail)


class RetryLater(Unavailable, code="retry_later"):
    """The rows a webhook event changes are busy (a payment being collected): Stripe delivers
    the event again on a 503."""


class BatchTooLarge(BadRequest, code="batch_too_large"):
    """More events in one batch than the server takes (1,000)."""


class MessageTooLarge(PayloadTooLarge):
    """A gRPC batch larger than a REST body may be (``API_MAX_JSON_BYTES``): the REST door's
    413 ``payload_too_large``, on gRPC ``INVALID_ARGUMENT``."""


class MalformedBatch(BadRequest, code="malformed_batch"):
    """The body is not ``{"events": [...]}``."""


class InvalidEvent(BadRequest, code="invalid_event"):
    """One event breaks the format: the whole batch is refused and nothing is stored."""

    def __init__(self, detail: str, *, index: int, field: str = "", code: str | None = None):
        super().__init__(
            f"events[{index}]{'.' + field if field else ''}: {detail}", code=code, field=field
        )
        self.index = index

    def extra(self) -> dict:
        return {"index": self.index}


class UnknownGrouping(BadRequest, code="invalid_group_by"):
    """group_by names something usage cannot be grouped by."""


class ReportTooLarge(BadRequest, code="report_too_large"):
    """A usage report would hold more rows than ``USAGE_REPORT_MAX_ROWS``: a shorter period or
    a coarser grouping answers."""


class InvalidPeriod(BadRequest, code="invalid_period"):
    """A month not written ``YYYY-MM`` (``billing.periods.parse_month``), usage report from/to
    that are not dates, or a range of months that runs backwards or is too long."""


class DeviceThrottled(Throttled):
    """The device sent more reports than its budget (``THROTTLE_DEVICE``) allows."""

    def __init__(self, retry_after: float):
        seconds = retry_seconds(retry_after)
        super().__init__(
            f"Too many usage reports from this device: retry in {seconds} s.", retry_after=seconds
        )


class InvoiceImmutable(Conflict, code="invoice_immutable"):
    """A finalized invoice or its lines cannot change: void it or issue a credit note."""


class InvoiceNotDraft(Conflict, code="invoice_not_draft"):
    """Only a draft takes adjustment lines or is finalized."""


class InvoiceNotFinalized(Conflict, code="invoice_not_finalized"):
    """A draft has no number and no document yet: its PDF exists once it is finalized."""


class InvoiceHasNoRecipients(Conflict, code="invoice_no_recipients"):
    """Nobody to email the invoice to: its tenant's billing account has no invoice emails now,
    and had none when the invoice was issued."""


class InvoiceNotVoidable(Conflict, code="invoice_not_voidable"):
    """Only a finalized, unpaid invoice can be voided; a paid one takes a credit note."""


class InvoiceNotCreditable(Conflict, code="invoice_not_creditable"):
    """Credit notes correct finalized invoices that are not void, and only lines not yet
    credited in full."""


class NoLinesChosen(BadRequest, code="no_lines_chosen"):
    """A credit note for chosen lines was asked with none chosen (``line_ids=[]``); crediting
    the whole invoice is asked without ``line_ids``."""


class InvalidCreditLine(BadRequest, code="invalid_line"):
    """A line to credit named by something that is not a line id (a whole number)."""


class BillingAccountMissing(Conflict, code="billing_account_missing"):
    """An invoice cannot be issued without the buyer's legal name and address: only the 409
    of an action that needs the account (finalizing), never the 404 of reading it."""


class NoBillingAccountYet(NotFound):
    """The tenant's billing account is read before any was PUT: the one resource at that
    address does not exist yet, a plain ``404 not_found`` as every missing object is.
    (``billing_account_missing`` is the 409 of finalizing without one: a code has one
    status everywhere.)"""


class BillingAccountNotIssuable(Conflict, code="billing_account_invalid"):
    """The billing account, as stored, breaks a rule of the invoice document (saved before
    the rule): it must be corrected before an invoice is issued to it."""


class InvoiceNegativeTotal(Conflict, code="negative_total"):
    """A document whose total is below zero cannot be issued (its PDF, XML and email refuse
    it: ``negative_total_refusal``): a draft below zero is not finalized, an adjustment that
    would take a draft there is not added, and a credit note that would give back less than
    nothing (only negative lines credited) is not issued."""


class AdjustmentBelowPrepaid(Conflict, code="adjustment_below_prepaid"):
    """A negative adjustment may lower what a draft asks to zero, never below what its
    one-time orders paid in advance: the excess would be money owed back that the finalized
    invoice records as nothing (paid, nothing due); a refund of an order gives it back."""


class InvalidAdjustment(BadRequest, code="invalid_adjustment"):
    """An adjustment needs a description and a non-zero amount in minor units."""


class AdjustmentAlreadyAdded(Conflict, code="adjustment_already_added"):
    """The adjustment form sent again (a double-click, a page restored from the browser's
    history): the draft has the line its one-time token names already, and an adjustment is
    never taken off, so a second one would stay. Nothing is added."""


class AdjustmentTokenMissing(BadRequest, code="adjustment_token_missing"):
    """An adjustment sent without the one-time token its form carries (a page from before
    the token, or not the admin's form): it could not be told from a second sending."""


class InvalidBillingAccount(BadRequest, code="invalid_billing_account"):
    """A billing account field breaks its format (country, currency, emails, tax rate)."""


class InvoiceVoid(Conflict, code="invoice_void"):
    """A void invoice's document is withdrawn (not sent, downloaded or exported): it would ask
    for a payment nobody owes."""


class PaymentPending(Conflict, code="payment_pending"):
    """An attempt to charge the invoice is still processing: its outcome arrives by webhook,
    and another charge now could take the money twice."""


class AmountBelowMinimum(Conflict, code="amount_below_minimum"):
    """The amount due is below the smallest charge the card processor takes (Stripe refuses
    it as ``amount_too_small``, and every retry of it too): no card charge is tried. The
    invoice stays unpaid, to be paid by bank transfer (an offline payment), or given back
    by a credit note, which settles it once nothing is due (``collection.apply_credit``)."""


class AmountAboveMaximum(Conflict, code="amount_above_maximum"):
    """The amount due is above the largest charge the card processor takes (Stripe refuses
    it as ``amount_too_large``): as below the minimum, no card charge is tried, and it is paid
    by bank transfer."""


class InvoiceNotCollectable(Conflict, code="invoice_not_collectable"):
    """Only a finalized, unpaid invoice (open, payment_failed, uncollectible) takes a payment."""


class InvalidPaymentReference(BadRequest, code="invalid_payment_reference"):
    """An offline payment needs the reference of the transfer (1 to 255 characters)."""


class RefundByCard(Conflict, code="refund_by_card"):
    """Finance records a transfer for a credit note whose money goes back on the card that
    paid its invoice (its refund still being made): both would pay it back."""


class RefundedToCard(Conflict, code="refunded_to_card"):
    """Finance records a transfer for a credit note whose card refund Stripe made after all:
    that refund is recorded instead, and no transfer is to be sent."""


class OrderNotRefunded(Conflict, code="order_not_refunded"):
    """A credit note may not give back a one-time order's line: refunding the order does
    (``invoicing.credit_refund``), so that its price really goes back."""


class SettledAlready(Conflict, code="settled_already"):
    """Finance records money to give back as settled a second time (``money_back.settle``)."""


class NotACardPayment(Conflict, code="not_a_card_payment"):
    """EdgePlug refunds in Stripe only money to give back that is a card payment on its
    PaymentIntent (``MoneyToGiveBack.CARD_PAYMENTS``: an invoice paid twice, overpaid); the
    other kinds are given back by hand and recorded settled (``money_back.settle``)."""


class NothingOwedBack(Conflict, code="nothing_owed_back"):
    """Only a credit note of a paid invoice owes money back, until it is paid back."""


class PdfArchiveExpired(DomainError, code="pdf_archive_expired", status=410):
    """The finance PDF archive's file was deleted after its retention
    (``BILLING_PDF_ARCHIVE_RETENTION_DAYS``): build the month's archive again."""


class PeriodNotEnded(Conflict, code="period_not_ended"):
    """A month is closed once it has ended; closing the current month early needs ``force``
    (usage still to come is billed as late usage next month), a future month never."""


class MonthNotClosed(Conflict, code="month_not_closed"):
    """A draft is finalized only once a close that began after its month ended has drafted it
    (``ClosedMonth``): one made by a close forced before the month's end lacks what the month
    sold after it, which a finalized month would bill nowhere."""
