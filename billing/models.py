"""Billing records: a tenant's Stripe customer, its saved payment methods (and the ids of those
it removed), each webhook event
handled (stored once by its id), usage (raw device events, the sequence numbers seen per
device, the hourly agent-seconds rollup that rating reads), and invoicing: the billing
account, invoices and credit notes with their lines, and the gapless number counters.

A finalized invoice (or credit note) and its lines are immutable: ``save``/``delete`` refuse
(``InvoiceImmutable``) and, on PostgreSQL, triggers refuse too (migration 0003). Only its
lifecycle fields (status, payment attempts, paid/voided times, whether it was emailed) still
move."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.utils import timezone

from billing.charge_minimums import rounding
from billing.documents.document import amount_asked, declared_vat_rate, paid_so_far
from billing.errors import InvoiceImmutable
from billing.periods import month_label
from edgeplug.audit.models import AuditEvent
from marketplace.pricing import format_amount


class StripeCustomer(models.Model):
    tenant = models.OneToOneField(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="stripe_customer"
    )
    customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.tenant} = {self.customer_id}"


class DeletedStripeCustomer(models.Model):
    """A tenant's Stripe customer that Stripe deleted (``payments.forget_deleted_customer``):
    a charge made on it is still the tenant's (``payments._customers``), and how many the
    tenant had names the key of its next customer (``payments.ensure_customer``)."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    customer_id = models.CharField(max_length=255, unique=True)
    deleted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.customer_id} (deleted)"


class ChargeDispute(models.Model):
    """A dispute of a card payment (an invoice's or an order's), as Stripe's ``charge.dispute.*``
    webhooks told it, one row per ``dp_…``: ``status`` the last told that was news
    (``payments.Dispute.told_already``: an inquiry's ``warning_…``, then a chargeback's, then
    its close), written with its audit event under the lock of the invoice or order it
    disputes (``payments.Dispute.keep``). What decides whether a payment is under a chargeback
    (``payments.open_disputes``); the audit events are its history, not read back."""

    dispute_id = models.CharField(max_length=255, unique=True)
    payment_intent_id = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=64)
    told_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.dispute_id} ({self.status})"


class PaymentMethod(models.Model):
    """A card saved through a SetupIntent; only its display details are kept here."""

    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="payment_methods"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    brand = models.CharField(max_length=32, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(is_default=True),
                name="one_default_payment_method",
            )
        ]

    def __str__(self) -> str:
        return f"{self.brand} ending {self.last4}"


class RemovedPaymentMethod(models.Model):
    """A card the tenant removed, by its Stripe id: its SetupIntent's success delivered late
    (the webhook) or the save sent again does not save it again (``payments._save_card``).
    Stripe never takes a detached card back, so a card set up anew has a new id."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    stripe_id = models.CharField(max_length=255, unique=True)
    removed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.stripe_id} (removed)"


class NewCardCharge(models.Model):
    """An attempt on a tenant's new default card that ``collection.schedule_on_new_card``
    queued for an unpaid invoice (the task's arguments), kept from the card's transaction until
    the task decides: one still here after the grace had its task lost (the broker down at
    commit, the processor down for all its retries), and the beat job makes it
    (``collection.collect_missed_new_card_charges``)."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    # No foreign key to the invoice in the database, and no unique key: the row is written
    # holding the tenant's lock, and the foreign key's check would wait for the invoice's row,
    # the unique key's for its task's delete, while the task charging it may take the tenant
    # after it (``marketplace.orders.lock_standing``). Another card made the default before the
    # task ran queues the same attempt again, which then does nothing.
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    attempts_seen = models.PositiveSmallIntegerField()
    queued_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"invoice {self.invoice_id} after attempt {self.attempts_seen}"


class WebhookEvent(models.Model):
    """A Stripe event we handled; the unique id makes a redelivery a no-op."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class UsageKind(models.TextChoices):
    SESSION = "session"
    INFERENCES = "inferences"
    HEARTBEAT = "heartbeat"


class UsageEvent(models.Model):
    """One event as a device reported it, stored once per (device, seq).

    Raw rows are kept for audit and recomputation (for ``USAGE_RAW_RETENTION_DAYS``); rating
    reads ``UsageHour``. On PostgreSQL the table is partitioned by month of ``started_at``
    (migration 0003, ``billing.partitions``), and PostgreSQL needs the partition key in every
    unique constraint, so the primary key is (device, seq, started_at). Exactly once per
    (device, seq) rests on the ingest's lookup of the batch's seqs under the device's row lock
    (``billing.usage``), and, once retention dropped the raw rows, on ``UsageRetiredSeqRange``."""

    # No single-column index on tenant, agent or version (migration 0010): no query reads the
    # raw rows by them, and each index was an entry to write per ingested row. The database
    # still checks them (on PostgreSQL by triggers, once per statement and distinct key,
    # migration 0011); deleting a tenant (cascade) or an agent or version (PROTECT) scans the
    # raw table instead (docs/metering.md).
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    device = models.ForeignKey(
        "marketplace.Device", on_delete=models.CASCADE, related_name="usage_events"
    )
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=UsageKind.choices)
    agent = models.ForeignKey(
        "marketplace.Agent", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    version = models.ForeignKey(
        "marketplace.AgentVersion", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    inferences = models.BigIntegerField(null=True, blank=True)
    peak_arena_bytes = models.BigIntegerField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the event's content")
    received_at = models.DateTimeField()

    # No id column (migration 0012): no sequence and no second unique index to write per row.
    pk = models.CompositePrimaryKey("device", "seq", "started_at")

    class Meta:
        ordering = ["device", "seq"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__gte=models.F("started_at")),
                name="usage_event_ends_after_start",
            ),
        ]
        # Ingest reads a device's stored sessions ending after the batch's earliest start:
        # indexed by end, that read skips the device's older history (in-order reports find
        # nothing to scan), where an index by start walked all of it on every batch.
        indexes = [
            models.Index(
                fields=["device", "agent", "kind", "ended_at"], name="usage_event_sessions_by_end"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq} {self.kind}"


class SeqRange(models.Model):
    """An inclusive range ``first``-``last`` of one device's sequence numbers; each subclass
    names its ``device`` key and its constraints (one range per start, ordered)."""

    ORDERED = models.Q(first__gte=1, last__gte=models.F("first"))

    first = models.BigIntegerField()
    last = models.BigIntegerField()

    class Meta:
        abstract = True
        ordering = ["device", "first"]

    def __str__(self) -> str:
        return f"{self.device_id}: {self.first}-{self.last}"


class UsageSeqRange(SeqRange):
    """An inclusive range of sequence numbers a device sent and got an answer for; the holes
    between a device's ranges are its gaps. Ranges are disjoint and never adjacent."""

    device = models.ForeignKey(
        "marketplace.Device", on_delete=models.CASCADE, related_name="usage_seq_ranges"
    )

    class Meta(SeqRange.Meta):
        constraints = [
            models.UniqueConstraint(fields=["device", "first"], name="one_seq_range_per_start"),
            models.CheckConstraint(condition=SeqRange.ORDERED, name="seq_range_is_ordered"),
        ]


class UsageRetiredSeqRange(SeqRange):
    """An inclusive range of a device's sequence numbers whose raw events retention dropped:
    a resend of one of them is refused (``too_late``), whatever its content, so it is never
    stored a second time. Ranges are disjoint and never adjacent."""

    device = models.ForeignKey(
        "marketplace.Device", on_delete=models.CASCADE, related_name="usage_retired_seq_ranges"
    )

    class Meta(SeqRange.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["device", "first"], name="one_retired_seq_range_per_start"
            ),
            models.CheckConstraint(condition=SeqRange.ORDERED, name="retired_seq_range_is_ordered"),
        ]

    def __str__(self) -> str:
        return f"{super().__str__()} retired"


class UsageHour(models.Model):
    """Seconds an agent ran on a device within one UTC hour (the union of its sessions)."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("marketplace.Agent", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey("marketplace.Device", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    seconds = models.PositiveIntegerField()

    class Meta:
        ordering = ["hour", "agent", "device"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "agent", "hour"], name="one_usage_row_per_device_agent_hour"
            ),
            models.CheckConstraint(
                condition=models.Q(seconds__lte=3600), name="usage_hour_at_most_an_hour"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "hour"]),
            models.Index(fields=["agent", "hour"]),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} on {self.device_id} at {self.hour:%Y-%m-%d %H}:00 {self.seconds}s"


# --- invoicing ----------------------------------------------------------------------------------


class BillingAccount(models.Model):
    """Who a tenant's invoices are addressed to, in which currency, and how they are taxed."""

    # What the tenant states (the API form, the finance admin's read-only page).
    DETAIL_FIELDS = (
        "legal_name",
        "address_line1",
        "address_line2",
        "postcode",
        "city",
        "country",
        "tax_id",
        "invoice_emails",
        "currency",
        "tax_rate",
        "reverse_charge",
    )

    tenant = models.OneToOneField(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="billing_account"
    )
    legal_name = models.CharField(max_length=200)
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. DE")
    tax_id = models.CharField(max_length=40, blank=True, help_text="VAT or other tax number")
    invoice_emails = models.JSONField(default=list, blank=True)
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217")
    tax_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(0), help_text="percent, e.g. 19.00"
    )
    reverse_charge = models.BooleanField(
        default=False, help_text="VAT reverse-charged to the buyer: no tax, a legal mention"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tax_rate__gte=0, tax_rate__lte=100),
                name="billing_account_tax_rate_percent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.tenant})"

    def snapshot(self) -> dict:
        """The buyer as printed on an invoice; kept on the invoice when it is finalized. The
        stated details in JSON types, but the currency, which the invoice carries itself."""
        buyer = {name: getattr(self, name) for name in self.DETAIL_FIELDS if name != "currency"}
        return buyer | {"invoice_emails": list(self.invoice_emails), "tax_rate": str(self.tax_rate)}


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    UNCOLLECTIBLE = "uncollectible"
    VOID = "void"


class RefundedBy(models.TextChoices):
    """How a credit note's money went back (``billing.money_back``)."""

    CARD = "card"
    TRANSFER = "transfer"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


# What may still change once an invoice is finalized; everything else is frozen.
INVOICE_LIFECYCLE_FIELDS = frozenset(
    {
        "status",
        "credited_amount",
        "rounding_amount",
        "paid_at",
        "voided_at",
        "void_reason",
        "payment_attempts",
        "next_payment_attempt_at",
        "payment_intent_id",
        "payment_reference",
        "payment_failure_code",
        "payment_failure_detail",
        "refunded_at",
        "refund_reference",
        "refunded_by",
        "refund_failure",
        "emailed_at",
        "email_failure_code",
        "email_failure_detail",
        "payment_notice_failure_code",
        "payment_notice_failure_detail",
        "updated_at",
    }
)


# An invoice finalized and not settled: still owed (open, in dunning, or uncollectible). Only
# invoices are: a credit note is paid when it is issued.
UNPAID = (InvoiceStatus.OPEN, InvoiceStatus.PAYMENT_FAILED, InvoiceStatus.UNCOLLECTIBLE)


def live_invoice_filter(prefix: str = "") -> models.Q:
    """A month's invoice, draft or finalized, until voided: one per tenant, currency and month
    (the constraint ``one_invoice_per_tenant_currency_period``). Credit notes are apart.
    ``prefix`` reaches the invoice through a relation, e.g. ``"invoice__"`` from its lines."""
    return models.Q(**{f"{prefix}kind": InvoiceKind.INVOICE}) & ~models.Q(
        **{f"{prefix}status": InvoiceStatus.VOID}
    )


LIVE_INVOICE = live_invoice_filter()


def line_agent(field: str, prefix: str = "") -> Coalesce:
    """The ``field`` of the agent an invoice line bills (``tenant_id``: the vendor it counts
    for): its entitlement's agent, or its one-time order's; NULL for a line of neither.
    ``prefix`` reaches the line through a relation, e.g. ``"lines__"`` from its invoice."""
    return Coalesce(
        models.F(f"{prefix}entitlement__agent__{field}"), models.F(f"{prefix}order__agent__{field}")
    )


def issued_filter(prefix: str = "") -> models.Q:
    """Finalized and not void: an invoice or credit note that counts (revenue, payouts).
    ``prefix`` reaches the invoice through a relation, e.g. ``"invoice__"`` from its lines."""
    return models.Q(**{f"{prefix}finalized_at__isnull": False}) & ~models.Q(
        **{f"{prefix}status": InvoiceStatus.VOID}
    )


def revenue_month(prefix: str = "") -> models.Case:
    """The month an issued document counts for: an invoice its billing period, a credit note
    the month it was issued (finalized) in, so a month's figures do not change afterwards."""
    return models.Case(
        models.When(
            **{f"{prefix}kind": InvoiceKind.CREDIT_NOTE},
            then=TruncMonth(f"{prefix}finalized_at", tzinfo=UTC),
        ),
        default=models.F(f"{prefix}period_start"),
        output_field=models.DateTimeField(),
    )


def in_revenue_months(first: datetime, end: datetime, prefix: str = "") -> models.Q:
    """``first <= revenue_month(prefix) < end`` for month starts ``first`` and ``end``, as a
    filter an index serves (the CASE is computed per row, so filtering on it alone reads
    every document ever issued): an invoice by its ``period_start``, a credit note by its
    ``finalized_at`` (whose month is in the range exactly when it is), through the indexes
    ``billing_invoice_period`` and ``billing_credit_note_issued``."""
    credit_note = models.Q(**{f"{prefix}kind": InvoiceKind.CREDIT_NOTE})
    return (
        credit_note
        & models.Q(**{f"{prefix}finalized_at__gte": first, f"{prefix}finalized_at__lt": end})
    ) | (
        ~credit_note
        & models.Q(**{f"{prefix}period_start__gte": first, f"{prefix}period_start__lt": end})
    )


def payment_terms() -> timedelta:
    """From an invoice's issue date to its due date (``BILLING_PAYMENT_TERMS_DAYS``)."""
    return timedelta(days=settings.BILLING_PAYMENT_TERMS_DAYS)


def first_charge_grace() -> timedelta:
    """How long after its finalize an invoice's first charge and email, queued when it
    committed, may take before the beat jobs make them (``BILLING_FIRST_CHARGE_GRACE_MINUTES``);
    the same for an attempt on a new default card after it was queued (``NewCardCharge``)."""
    return timedelta(minutes=settings.BILLING_FIRST_CHARGE_GRACE_MINUTES)


def past_due(today: date, prefix: str = "") -> models.Q:
    """Issued early enough that its due date is before ``today`` (a UTC date): the query form
    of ``Invoice.due_date < today``. The due date is the issue date (the UTC day of
    ``finalized_at``) plus the payment terms, so this holds for an invoice finalized before
    midnight UTC starting ``today - terms``."""
    first_issue_day_not_due = datetime.combine(today - payment_terms(), time.min, tzinfo=UTC)
    return models.Q(**{f"{prefix}finalized_at__lt": first_issue_day_not_due})


class InvoiceQuerySet(models.QuerySet):
    def unpaid(self):
        """Invoices still owed (``Invoice.is_unpaid``)."""
        return self.filter(kind=InvoiceKind.INVOICE, status__in=UNPAID)

    def paid_by_card(self):
        """Invoices a card payment settled: ``Invoice.intent_that_paid`` in a query."""
        return self.filter(status=InvoiceStatus.PAID, payment_reference="").exclude(
            payment_intent_id=""
        )

    def owing_money_back(self):
        """Credit notes whose money has not gone back yet (``Invoice.owes_money_back``)."""
        return self.filter(refund_amount__gt=0, refunded_at__isnull=True)

    def owing_card_refunds(self):
        """Credit notes whose money is still to go back on the card that paid their invoice
        (``Invoice.owes_card_refund``)."""
        paid_by_card = self.model.objects.paid_by_card()
        return self.owing_money_back().filter(refund_failure="", credit_of__in=paid_by_card)

    def paid_money_back(self):
        """Credit notes whose money has gone back (by card refund or recorded transfer)."""
        return self.filter(refund_amount__gt=0, refunded_at__isnull=False)

    def awaiting_outcome(self):
        """Unpaid invoices whose last charge attempt awaits its outcome (Stripe said
        processing, or its webhook has not come): ``Invoice.is_awaiting_outcome`` in a
        query."""
        return self.unpaid().filter(
            payment_attempts__gt=0, next_payment_attempt_at__isnull=True, payment_failure_code=""
        )

    def issued(self):
        """Invoices and credit notes finalized and not void (``issued_filter``)."""
        return self.filter(issued_filter())

    def live_invoices(self):
        """Invoices (not credit notes) that are not void, drafts included (``LIVE_INVOICE``)."""
        return self.filter(LIVE_INVOICE)

    def awaiting_first_charge(self):
        """Open invoices with something due whose first charge was never made: no attempt, no
        PaymentIntent, and no reason recorded why none was made (no card, payments off)."""
        return (
            self.filter(
                kind=InvoiceKind.INVOICE,
                status=InvoiceStatus.OPEN,
                payment_attempts=0,
                payment_intent_id="",
                payment_failure_code="",
            )
            .alias(due=AMOUNT_DUE)
            .filter(due__gt=0)
        )

    def charging_order(self, order_id: int):
        """The finalized invoices (not void) that charged a one-time order: those a refund of
        it is credited on (``invoicing.credit_refund``), locked by the refund before the
        order's entitlement (``marketplace.orders.lock_standing`` gives the lock order)."""
        return (
            self.live_invoices()
            .issued()
            .filter(lines__order_id=order_id, lines__kind=LineKind.ONE_TIME_ORDER)
        )

    def past_first_charge_grace(self, now):
        """Finalized over ``first_charge_grace`` before ``now``: what was queued at finalize
        (the first charge, the email) and has not happened is the beat jobs' to make."""
        return self.filter(finalized_at__lte=now - first_charge_grace())

    def not_emailed(self):
        """Invoices and credit notes finalized and not void whose email has neither gone out
        nor failed (its task never ran)."""
        return self.issued().filter(emailed_at__isnull=True, email_failure_code="")


def _failure_column(max_length: int, help_text: str = "") -> models.CharField:
    """Why a worker did not do something (a code, or its detail), empty when it did. With a
    database default: the previous release's inserts, which do not name it, keep working
    during a rollout."""
    return models.CharField(
        max_length=max_length, blank=True, default="", db_default="", help_text=help_text
    )


class Invoice(models.Model):
    """One invoice (or credit note) of a tenant for a UTC calendar month, in one currency.

    Amounts are integer minor units of ``currency``; a credit note's amounts are negative.
    ``number`` is empty until finalized, then ``EP-YYYY-NNNNNN`` (``CN-…`` for credit notes)."""

    # Its stored amounts, in minor units of ``currency`` (the API and the admin show them).
    MONEY_FIELDS = (
        "subtotal",
        "tax",
        "total",
        "prepaid_amount",
        "credited_amount",
        "rounding_amount",
        "refund_amount",
        "applied_amount",
    )

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=16, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    status = models.CharField(
        max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    number = models.CharField(max_length=32, null=True, blank=True, unique=True)
    credit_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    currency = models.CharField(max_length=3)
    period_start = models.DateTimeField(help_text="first instant of the UTC month")
    period_end = models.DateTimeField(help_text="first instant of the next UTC month")
    account_snapshot = models.JSONField(
        default=dict, blank=True, help_text="seller and buyer as of finalize"
    )
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))
    reverse_charge = models.BooleanField(default=False)
    subtotal = models.BigIntegerField(default=0)
    tax = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    prepaid_amount = models.BigIntegerField(
        default=0, help_text="part of the total already paid (one-time orders, less refunds)"
    )
    # A lifecycle column (credit notes come after finalize), with a database default so the
    # previous release's inserts keep working during a rollout (migration 0014).
    credited_amount = models.BigIntegerField(
        default=0,
        db_default=0,
        help_text="part of what it asked that credit notes gave back while it was unpaid",
    )
    # Also a lifecycle column: set with the totals, and again by each credit note while it is
    # unpaid (``round_amount_due``). A database default, as ``credited_amount`` (migration 0015).
    rounding_amount = models.BigIntegerField(
        default=0,
        db_default=0,
        help_text="taken off the amount due so that the card processor can charge it "
        "(three-decimal currencies: a multiple of 10 minor units); 0 or negative",
    )
    rollup_digest = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the usage rollups the lines came from"
    )
    finalize_after = models.DateTimeField(help_text="end of the grace period for adjustments")
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)
    payment_attempts = models.PositiveSmallIntegerField(default=0)
    next_payment_attempt_at = models.DateTimeField(null=True, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    payment_reference = models.CharField(
        max_length=255, blank=True, help_text="offline payment reference"
    )
    payment_failure_code = models.CharField(
        max_length=64, blank=True, help_text="why the last collection did not succeed"
    )
    payment_failure_detail = models.CharField(max_length=500, blank=True)
    # A credit note of a paid invoice gives money back (billing.money_back): refunded on the
    # card payment that paid the invoice, or owed back by transfer until finance records it.
    # db_default too: the previous release's inserts do not name them (migration 0016).
    refund_amount = models.BigIntegerField(
        default=0,
        db_default=0,
        help_text="credit notes of a paid invoice: the money given back (minor units)",
    )
    refunded_at = models.DateTimeField(null=True, blank=True, help_text="when that money went back")
    # The Stripe refund (re_…), or finance's transfer reference.
    refund_reference = models.CharField(max_length=255, blank=True, default="", db_default="")
    refunded_by = models.CharField(
        max_length=8, choices=RefundedBy.choices, blank=True, default="", db_default=""
    )
    # Why Stripe refused its card refund for good (it is not tried again): finance pays it
    # back by transfer then (billing.money_back).
    refund_failure = models.CharField(max_length=500, blank=True, default="", db_default="")
    # A credit note of an unpaid invoice takes that much off what the invoice asks (added to
    # its ``credited_amount``: ``collection.apply_credit``), as its documents say. Frozen on
    # issue like its other amounts; a database default as above (migration 0020).
    applied_amount = models.BigIntegerField(
        default=0,
        db_default=0,
        help_text="credit notes of an unpaid invoice: what it took off its amount due",
    )
    emailed_at = models.DateTimeField(
        null=True, blank=True, help_text="when its email (with the PDF) went out"
    )
    # Why its email (billing.invoice_emails) was not sent yet (migration 0013), and why the
    # latest payment notice to its billing contacts was not (billing.payment_notices: refused,
    # or its retries given up; cleared when a later notice is sent; migration 0025). Either is
    # also ``email_refused`` (or ``email_partly_deferred``, each of them a 4xx) when the mail
    # server refused some recipients and took the message for the others: it was sent
    # (``emailed_at``), the detail names the refused addresses.
    email_failure_code = _failure_column(64, "why its email was not sent (yet)")
    email_failure_detail = _failure_column(500)
    payment_notice_failure_code = _failure_column(64, "why its latest payment notice was not sent")
    payment_notice_failure_detail = _failure_column(500)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "currency", "period_start"],
                condition=LIVE_INVOICE,
                name="one_invoice_per_tenant_currency_period",
            ),
            models.UniqueConstraint(
                fields=["payment_intent_id"],
                condition=~models.Q(payment_intent_id=""),
                name="one_invoice_per_payment_intent",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False),
                name="finalized_invoice_has_number",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="invoice", credit_of__isnull=True)
                | models.Q(kind="credit_note", credit_of__isnull=False),
                name="credit_note_refers_to_invoice",
            ),
            models.CheckConstraint(
                condition=models.Q(refund_amount=0)
                | models.Q(kind="credit_note", refund_amount__gt=0),
                name="refund_amount_of_credit_notes",
            ),
            models.CheckConstraint(
                condition=models.Q(applied_amount=0)
                | models.Q(kind="credit_note", applied_amount__gt=0),
                name="applied_amount_of_credit_notes",
            ),
            models.CheckConstraint(
                condition=models.Q(total=models.F("subtotal") + models.F("tax")),
                name="invoice_total_is_subtotal_plus_tax",
            ),
            models.CheckConstraint(
                condition=models.Q(rounding_amount__lte=0, rounding_amount__gt=-10),
                name="invoice_rounding_is_less_than_one_step_down",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "period_start"]),
            models.Index(fields=["status", "finalize_after"]),
            models.Index(fields=["status", "next_payment_attempt_at"]),
            # A month's revenue and payouts (``in_revenue_months``): invoices by their
            # month, credit notes by when they were issued.
            models.Index(fields=["period_start"], name="billing_invoice_period"),
            # The notes a Stripe refund (or lost dispute) paid back: ``billing.taken_back``
            # books one made in Stripe's dashboard once, by its id (audited under the
            # invoice's lock); it may pay back several notes still owing money back
            # (``money_back.owed_back_covered``), all owing again if it fails.
            models.Index(
                fields=["refund_reference"],
                condition=models.Q(refunded_by="card") & ~models.Q(refund_reference=""),
                name="billing_note_card_refund",
            ),
            models.Index(
                fields=["finalized_at"],
                condition=models.Q(kind="credit_note"),
                name="billing_credit_note_issued",
            ),
            # The beat job's look for finalized invoices whose email never went out.
            models.Index(
                fields=["finalized_at"],
                condition=models.Q(finalized_at__isnull=False, emailed_at__isnull=True),
                name="billing_invoice_not_emailed",
            ),
        ]
        permissions = [
            ("finalize_invoice", "Can finalize an invoice now (finance)"),
            ("void_invoice", "Can void an unpaid invoice (finance)"),
            ("credit_invoice", "Can issue a credit note (finance)"),
            ("adjust_invoice", "Can add an adjustment line to a draft (finance)"),
            ("collect_invoice", "Can retry a payment or record an offline payment (finance)"),
        ]

    def __str__(self) -> str:
        label = self.number or f"draft {self.pk}"
        return f"{label} {self.tenant} {month_label(self.period_start)}"

    def save(self, *args, **kwargs):
        if self.is_finalized:
            changed = [
                f.attname
                for f in self._meta.concrete_fields
                if f.attname in self._stored
                and f.attname not in INVOICE_LIFECYCLE_FIELDS
                and getattr(self, f.attname) != self._stored[f.attname]
            ]
            if changed:
                raise InvoiceImmutable(
                    f"Invoice {self.number} is finalized; {', '.join(changed)} cannot change. "
                    "Void it (if unpaid) or issue a credit note."
                )
        super().save(*args, **kwargs)
        self._remember_stored()

    def delete(self, *args, **kwargs):
        if self.is_finalized:
            raise InvoiceImmutable(f"Invoice {self.number} is finalized and cannot be deleted.")
        return super().delete(*args, **kwargs)

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._remember_stored()

    def _remember_stored(self) -> None:
        deferred = self.get_deferred_fields()
        self._stored = {
            f.attname: getattr(self, f.attname)
            for f in self._meta.concrete_fields
            if f.attname not in deferred
        }

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored = dict(zip(field_names, values, strict=True))
        return instance

    @property
    def vat_rate(self) -> Decimal:
        """The rate the invoice declares, as its PDF, e-invoice and the finance CSV print it:
        0 under reverse charge, whatever the buyer's account gives (``declared_vat_rate``)."""
        return declared_vat_rate(self.tax_rate, self.reverse_charge)

    @property
    def unrounded_amount_due(self) -> int:
        """Its total less the lines paid before it (one-time orders) and less what credit
        notes gave back of it while it was unpaid (``credited_amount``;
        ``collection.apply_credit``): the exact amount, before ``rounding_amount``."""
        return self.total - self.prepaid_amount - self.credited_amount

    @property
    def amount_due(self) -> int:
        """What the invoice asks for, and what a card charge of it takes: the unrounded
        amount due plus ``rounding_amount`` (0, or down to what the card processor can charge
        in a three-decimal currency). It stays so once paid, as Stripe's invoices keep it.
        ``AMOUNT_DUE`` is the same in a query."""
        return self.unrounded_amount_due + self.rounding_amount

    def round_amount_due(self) -> None:
        """Set ``rounding_amount`` so that the amount due is what the card processor can
        charge (``charge_minimums.chargeable``: rounded down, never more than invoiced). The
        one rule, applied with the totals and again after each credit; a credit note is never
        charged and keeps 0."""
        if self.kind != InvoiceKind.INVOICE:
            self.rounding_amount = 0
            return
        self.rounding_amount = rounding(self.unrounded_amount_due, self.currency)

    @property
    def amount_paid(self) -> int:
        """What has been paid of it: all it asked once it is paid, else its prepaid lines."""
        return paid_so_far(
            self.amount_asked, self.prepaid_amount, self.status == InvoiceStatus.PAID
        )

    @property
    def amount_asked(self) -> int:
        return amount_asked(self.total, self.credited_amount, self.rounding_amount)

    @property
    def amount_remaining(self) -> int:
        """What is still owed (0 once paid, and for a void invoice nobody owes): the amount
        due while it is unpaid. ``amount_due`` stays what was asked, as Stripe's invoices
        keep it."""
        if self.status == InvoiceStatus.VOID:
            return 0
        return self.amount_asked - self.amount_paid

    @property
    def intent_that_paid(self) -> str:
        """The PaymentIntent whose success settled the invoice; empty when it was settled
        otherwise (an offline payment, which keeps the awaited attempt's intent id, or credit
        notes, which quote themselves as its reference), or is not paid."""
        if self.status == InvoiceStatus.PAID and not self.payment_reference:
            return self.payment_intent_id
        return ""

    @property
    def refunds_to_card(self) -> bool:
        """Whether a credit note's money goes back on the card that paid its invoice: as it
        went, once it has; until then, unless Stripe refused that refund for good
        (``refund_failure``: finance pays it back by transfer). ``billing.money_back``."""
        if self.refunded_at is not None:
            return self.refunded_by == RefundedBy.CARD
        return bool(self.credit_of_id and self.credit_of.intent_that_paid) and not (
            self.refund_failure
        )

    @property
    def owes_money_back(self) -> bool:
        """A credit note whose money has not gone back yet. ``Invoice.objects.owing_money_back()``
        is the same in a query."""
        return self.refund_amount > 0 and self.refunded_at is None

    @property
    def owes_card_refund(self) -> bool:
        """A credit note whose money is still to go back on the card that paid its invoice
        (``billing.money_back.refund_credit_note`` makes it). ``Invoice.objects.
        owing_card_refunds()`` is the same in a query."""
        return self.owes_money_back and self.refunds_to_card

    @property
    def is_finalized(self) -> bool:
        stored = getattr(self, "_stored", {})
        return stored.get("finalized_at") is not None

    @property
    def is_unpaid(self) -> bool:
        """Still owed: an invoice finalized and not settled. ``Invoice.objects.unpaid()`` is
        the same in a query."""
        return self.kind == InvoiceKind.INVOICE and self.status in UNPAID

    @property
    def is_awaiting_outcome(self) -> bool:
        """Unpaid, and its last charge attempt was made but neither its success nor its
        failure is known (Stripe said processing): nothing else may settle or charge it
        meanwhile (``payments.refuse_while_awaited``). ``Invoice.objects.awaiting_outcome()``
        is the same in a query."""
        return (
            self.is_unpaid
            and self.payment_attempts > 0
            and self.next_payment_attempt_at is None
            and not self.payment_failure_code
        )

    @property
    def issue_date(self) -> date | None:
        """The UTC day it was finalized, printed as its date; none for a draft."""
        return self.finalized_at.astimezone(UTC).date() if self.finalized_at else None

    @property
    def due_date(self) -> date | None:
        """The day payment is due, printed on the document (PDF, XML, email): the issue date
        plus ``BILLING_PAYMENT_TERMS_DAYS``."""
        issued = self.issue_date
        return issued + payment_terms() if issued else None

    @property
    def is_voidable(self) -> bool:
        """Only an unpaid invoice can be voided; a paid one is corrected by a credit note, and
        one a credit note corrected already (a refund, finance's) is corrected by another:
        voided, it would leave that credit note crediting nothing."""
        return self.is_unpaid and not self.credit_notes.exists()

    @property
    def is_creditable(self) -> bool:
        """A credit note corrects a finalized invoice that is not void (paid or not)."""
        return (
            self.kind == InvoiceKind.INVOICE
            and self.finalized_at is not None
            and self.status != InvoiceStatus.VOID
        )


class LineKind(models.TextChoices):
    FLAT_FEE = "flat_fee"
    USAGE = "usage"
    ONE_TIME_ORDER = "one_time_order"
    LATE_USAGE = "late_usage"
    CREDIT = "credit"
    ADJUSTMENT = "adjustment"


# ``Invoice.amount_due`` in a query.
AMOUNT_DUE = (
    models.F("total")
    - models.F("prepaid_amount")
    - models.F("credited_amount")
    + models.F("rounding_amount")
)


def _billed_for(model: str) -> models.ForeignKey:
    """What a line bills, where it bills one thing: kept as long as a line names it."""
    return models.ForeignKey(
        model, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )


class InvoiceLine(models.Model):
    """One priced line. ``breakdown`` is ``pricing.Breakdown.as_dict()`` (tier, quantity, unit
    amount, amount per slice) so the tenant can recompute it by hand. ``usage_seconds`` is the
    agent-seconds a usage or late-usage line bills for its ``period``: what the next close
    compares with the rollups to find late usage."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=LineKind.choices)
    description = models.CharField(max_length=300)
    entitlement = _billed_for("marketplace.Entitlement")
    order = _billed_for("marketplace.Order")
    credited_line = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credits"
    )
    quantity = models.DecimalField(max_digits=20, decimal_places=6, default=Decimal(1))
    unit_amount = models.DecimalField(max_digits=24, decimal_places=6, default=Decimal(0))
    amount = models.BigIntegerField(help_text="minor units; negative for credits")
    breakdown = models.JSONField(default=dict, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    usage_seconds = models.BigIntegerField(null=True, blank=True)
    is_paid = models.BooleanField(default=False, help_text="already paid (one-time orders)")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    form_token = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="an adjustment's: the one-time token of the admin form that added it",
    )

    class Meta:
        ordering = ["invoice", "position", "id"]
        indexes = [models.Index(fields=["entitlement", "period_start"])]
        constraints = [
            # The same adjustment form sent twice adds one line (add_adjustment_line), also
            # when both sendings arrive at once.
            models.UniqueConstraint(
                fields=["invoice", "form_token"], name="one_line_per_adjustment_form"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.description} {format_amount(self.amount, self.invoice.currency)}"

    def save(self, *args, **kwargs):
        self._refuse_if_finalized("added or changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_finalized("deleted")
        return super().delete(*args, **kwargs)

    def _refuse_if_finalized(self, verb: str) -> None:
        invoice = Invoice.objects.filter(pk=self.invoice_id).values("finalized_at", "number")
        row = invoice.first()
        if row and row["finalized_at"] is not None:
            raise InvoiceImmutable(
                f"Invoice {row['number']} is finalized; its lines cannot be {verb}."
            )


class InvoiceNumberSequence(models.Model):
    """The last number given in one series and year; the finalize locks the row
    (``SELECT … FOR UPDATE``), so numbers are gapless even under concurrent finalizes."""

    series = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="one_counter_per_series_year")
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last}"


class ClosedMonth(models.Model):
    """A UTC month a close has drafted after it ended (``invoicing.close_billing_period``). The
    hourly close catches up an ended month without one (``invoicing.close_ended_months``), and
    only a closed month's usage reported later is late usage of the next."""

    period_start = models.DateTimeField(unique=True, help_text="first instant of the UTC month")
    closed_at = models.DateTimeField(help_text="when the first close after its end finished")

    class Meta:
        ordering = ["period_start"]

    def __str__(self) -> str:
        return month_label(self.period_start)


class PdfArchiveState(models.TextChoices):
    QUEUED = "queued", "queued"
    BUILDING = "building", "building"
    READY = "ready", "ready"
    FAILED = "failed", "failed"
    # Its file deleted after BILLING_PDF_ARCHIVE_RETENTION_DAYS (pdf_archives.expired).
    EXPIRED = "expired", "expired"


PDF_ARCHIVE_IN_PROGRESS = (PdfArchiveState.QUEUED, PdfArchiveState.BUILDING)


class PdfArchive(models.Model):
    """A ZIP of a month's invoice PDFs that finance asked for, built by a worker into the
    default storage (``pdf_archives.build_pdf_archive``) with its progress: documents done of
    ``total``. One month has at most one archive in progress (a database constraint).
    ``failure`` says why one is not offered: failed, or expired (its file deleted)."""

    period_start = models.DateTimeField(help_text="first instant of the UTC month")
    state = models.CharField(
        max_length=16,
        choices=PdfArchiveState.choices,
        default=PdfArchiveState.QUEUED,
        db_default=PdfArchiveState.QUEUED,
    )
    done = models.PositiveIntegerField(default=0, db_default=0)
    total = models.PositiveIntegerField(default=0, db_default=0)
    file_name = models.CharField(max_length=255, blank=True, default="", db_default="")
    failure = models.TextField(blank=True, default="", db_default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    requested_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                name="one_pdf_archive_in_progress_per_month",
                fields=["period_start"],
                condition=models.Q(state__in=PDF_ARCHIVE_IN_PROGRESS),
            )
        ]

    def __str__(self) -> str:
        return f"PDF archive {month_label(self.period_start)} ({self.state})"

    @property
    def in_progress(self) -> bool:
        return self.state in PDF_ARCHIVE_IN_PROGRESS


SETTLED = "money_to_give_back_settled"
# A PaymentIntent naming an invoice or order that is not its payment
# (``payments.refuse_foreign_payment``); listed to give back when it took a customer of ours'
# money (``details.ours``).
PAYMENT_NOT_OURS = "payment_not_ours"
# A refund *Refund in Stripe* made failed later (``money_back._given_back_refund_failed``).
REFUND_FAILED = "money_back_refund_failed"


class MoneyToGiveBackQuerySet(models.QuerySet):
    def with_settlement(self):
        """Each with ``settled_by``: the reference finance recorded settling it
        (``money_back.settle``, audited ``money_to_give_back_settled``), or None while open."""
        settlements = (
            AuditEvent.objects.filter(action=SETTLED)
            .annotate(of=KT("details__event"), by=KT("details__reference"))
            .filter(of=Cast(models.OuterRef("pk"), models.CharField()))
            .values("by")[:1]
        )
        return self.annotate(settled_by=models.Subquery(settlements))


class MoneyToGiveBackManager(models.Manager.from_queryset(MoneyToGiveBackQuerySet)):
    def get_queryset(self):
        rows = super().get_queryset().filter(action__in=MoneyToGiveBack.TO_DO)
        return rows.exclude(models.Q(action=PAYMENT_NOT_OURS) & ~models.Q(details__ours=True))


class MoneyToGiveBack(AuditEvent):
    """The audit events that ask finance to give money back outside EdgePlug, in Stripe's
    dashboard or by transfer: the admin's *Money to give back* list
    (``billing.admin.MoneyToGiveBackAdmin``), where finance records each settled with its
    reference (``money_back.settle``), or has EdgePlug refund a card payment's in Stripe
    (``money_back.refund_in_stripe``). ``TO_DO``: action -> what finance does;
    ``amount_key``: the detail holding the amount to give back."""

    TO_DO = {
        "invoice_paid_twice": "Refund this second payment on its PaymentIntent (Stripe).",
        "invoice_overpaid": "Refund the excess on its PaymentIntent (Stripe).",
        "credit_note_paid_back_twice": "Recover one of the two paybacks from the customer.",
        "order_refund_failed": "Pay the order back by transfer: its card refund failed.",
        REFUND_FAILED: "Give it back by transfer: the card refund made from EdgePlug failed.",
        "charge_disputed": "Answer the dispute in Stripe's dashboard before its deadline.",
        "invoice_paid_back_twice": "Recover it: Stripe gave back money already paid back.",
        "order_refunded_in_part": (
            "Refunded in part in Stripe: its vendor's payout counts it a refund of the "
            "month it was given back (Refund in full gives back the rest)."
        ),
        "order_refund_in_part_failed": (
            "Stripe could not give back this refund in part made in its dashboard (its refund "
            "failed): its vendor's payout counts it back in the month the failure was told, "
            "and Refund in full gives back the whole rest. Refund it again, or settle it."
        ),
        PAYMENT_NOT_OURS: (
            "Our customer was charged but it paid nothing: refund it on its PaymentIntent "
            "(Stripe), or ask the customer."
        ),
    }

    # The kinds that are a card payment to give back in part or whole on its PaymentIntent
    # (``details.payment_intent``): finance may have EdgePlug refund them in Stripe
    # (``money_back.refund_in_stripe``); the others are given back by hand, then recorded.
    CARD_PAYMENTS = frozenset({"invoice_paid_twice", "invoice_overpaid"})

    objects = MoneyToGiveBackManager()

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "money to give back"

    @property
    def is_card_payment(self) -> bool:
        return self.action in self.CARD_PAYMENTS

    @property
    def amount_to_give_back(self) -> int | None:
        """The amount in minor units (``amount_key``'s detail), or None when it has none."""
        value = (self.details or {}).get(self.amount_key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def amount_key(self) -> str:
        return "excess" if self.action == "invoice_overpaid" else "amount"

    @property
    def amount_text(self) -> str:
        """The amount to give back as people read it ("19.00 USD"), or "-"."""
        details = self.details or {}
        value, currency = details.get(self.amount_key), details.get("currency")
        return format_amount(value, currency.upper()) if value and currency else "-"
