"""Billing records: a tenant's Stripe customer, its saved payment methods, each webhook event
handled (stored once by its id), and usage: raw device events, the sequence numbers seen per
device, and the hourly agent-seconds rollup that rating reads."""

from django.db import models


class StripeCustomer(models.Model):
    tenant = models.OneToOneField(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="stripe_customer"
    )
    customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.tenant} = {self.customer_id}"


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
    unique constraint, so the database holds (device, seq, started_at) unique and the primary
    key (id, started_at). Exactly once per (device, seq) rests on the ingest's lookup of the
    batch's seqs under the device's row lock (``billing.usage``), and, once retention dropped
    the raw rows, on ``UsageRetiredSeqRange``."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(
        "marketplace.Device", on_delete=models.CASCADE, related_name="usage_events"
    )
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=UsageKind.choices)
    agent = models.ForeignKey("marketplace.Agent", on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(
        "marketplace.AgentVersion", on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    inferences = models.BigIntegerField(null=True, blank=True)
    peak_arena_bytes = models.BigIntegerField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the event's content")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["device", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "seq", "started_at"], name="usage_event_once_per_seq_and_start"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__gte=models.F("started_at")),
                name="usage_event_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["device", "agent", "kind", "started_at"])]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq} {self.kind}"


class UsageSeqRange(models.Model):
    """An inclusive range of sequence numbers a device sent and got an answer for; the holes
    between a device's ranges are its gaps. Ranges are disjoint and never adjacent."""

    device = models.ForeignKey(
        "marketplace.Device", on_delete=models.CASCADE, related_name="usage_seq_ranges"
    )
    first = models.BigIntegerField()
    last = models.BigIntegerField()

    class Meta:
        ordering = ["device", "first"]
        constraints = [
            models.UniqueConstraint(fields=["device", "first"], name="one_seq_range_per_start"),
            models.CheckConstraint(
                condition=models.Q(first__gte=1, last__gte=models.F("first")),
                name="seq_range_is_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}: {self.first}-{self.last}"


class UsageRetiredSeqRange(models.Model):
    """An inclusive range of a device's sequence numbers whose raw events retention dropped:
    a resend of one of them is refused (``too_late``), whatever its content, so it is never
    stored a second time. Ranges are disjoint and never adjacent."""

    device = models.ForeignKey(
        "marketplace.Device", on_delete=models.CASCADE, related_name="usage_retired_seq_ranges"
    )
    first = models.BigIntegerField()
    last = models.BigIntegerField()

    class Meta:
        ordering = ["device", "first"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "first"], name="one_retired_seq_range_per_start"
            ),
            models.CheckConstraint(
                condition=models.Q(first__gte=1, last__gte=models.F("first")),
                name="retired_seq_range_is_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}: {self.first}-{self.last} retired"


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
