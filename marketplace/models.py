"""The registry: vendor signing keys, agents, their immutable versions, and workflow packages."""

from datetime import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Coalesce, Greatest
from django.template.defaultfilters import pluralize
from django.utils import timezone

from marketplace.versioning import precedence_key


class VendorKey(models.Model):
    """An Ed25519 public key a vendor signs uploads with; the key id is its fingerprint."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="keys")
    key_id = models.CharField(max_length=80)
    public_key = models.CharField(max_length=64, help_text="base64 of the 32 raw key bytes")
    name = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key_id"], name="one_key_id_per_tenant")
        ]

    def __str__(self) -> str:
        return self.key_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Agent(models.Model):
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="agents")
    name = models.SlugField(max_length=64)
    agent_type = models.CharField(max_length=64, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="one_agent_name_per_vendor")
        ]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.name}"


class CertificationStatus(models.TextChoices):
    UNCERTIFIED = "uncertified"
    QUEUED = "queued"
    RUNNING = "running"
    CERTIFIED = "certified"
    # Was certified, but every certificate has expired (``expire_lapsed_certifications``).
    EXPIRED = "expired"
    FAILED = "failed"
    ERROR = "error"


class ReviewStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


# What customers may see: certified, approved by a reviewer, not yanked.
PUBLIC_VERSION = models.Q(
    certification_status=CertificationStatus.CERTIFIED,
    review_status=ReviewStatus.APPROVED,
    yanked_at__isnull=True,
)


# Versions customers saw before they were yanked (certified then, perhaps expired since, and
# approved): an agent's page keeps them, marked, and so do their own URLs (visibility.py).
YANKED_AFTER_RELEASE = models.Q(
    certification_status__in=[CertificationStatus.CERTIFIED, CertificationStatus.EXPIRED],
    review_status=ReviewStatus.APPROVED,
    yanked_at__isnull=False,
)


# An agent's versions, newest first (read backwards): the order of ``newest_first`` and of the
# index that serves it.
NEWEST_FIRST = ["agent", "precedence", "created_at", "id"]


class AgentVersionQuerySet(models.QuerySet):
    def released(self):
        """Certified, approved by a reviewer, not yanked: what a customer holding the agent
        may download and deploy, whatever became of its vendor."""
        return self.filter(PUBLIC_VERSION)

    def public(self):
        """What customers may see, on sale: released versions of a vendor still active (a
        deactivated vendor's agents are off sale: docs/roles.md)."""
        return self.released().filter(tenant__is_active=True)

    def yanked_after_release(self):
        """Versions yanked once customers could see them: still shown, marked, never offered
        for download."""
        return self.filter(YANKED_AFTER_RELEASE)

    def newest_first(self):
        """Highest SemVer precedence first, in SQL; equal precedence, newest upload first."""
        return self.order_by(*(f"-{field}" for field in NEWEST_FIRST[1:]))


class AgentVersion(models.Model):
    """One uploaded package. Immutable once stored: only its statuses and yank change."""

    # Neither key has an index of its own: the unique (agent, version), (agent, precedence) and
    # (tenant, digest) indexes lead with them, and each index is one more write per upload.
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    version = models.CharField(max_length=128)
    precedence = models.CharField(
        max_length=512,
        editable=False,
        help_text="digits that sort like the version's SemVer precedence (set on save)",
    )
    digest = models.CharField(max_length=64, help_text="sha256 of the package bytes, hex")
    size = models.PositiveBigIntegerField()
    manifest = models.JSONField()
    manifest_digest = models.CharField(max_length=64)
    target_core = models.CharField(max_length=32, db_index=True)
    storage_name = models.CharField(max_length=255)
    signature = models.CharField(max_length=128, help_text="base64 Ed25519 over the sha256")
    signing_key = models.ForeignKey(VendorKey, on_delete=models.PROTECT, related_name="versions")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    certification_status = models.CharField(
        max_length=16, choices=CertificationStatus.choices, default=CertificationStatus.UNCERTIFIED
    )
    certified_at = models.DateTimeField(null=True, blank=True)
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    yanked_at = models.DateTimeField(null=True, blank=True)
    yank_reason = models.CharField(max_length=500, blank=True)

    objects = AgentVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "version"], name="one_version_per_agent"),
            models.UniqueConstraint(fields=["tenant", "digest"], name="one_version_per_digest"),
            # The target of a usage event's (version, agent) foreign key (billing 0009).
            models.UniqueConstraint(fields=["id", "agent"], name="version_id_with_agent"),
            # SemVer precedence ignores build metadata, and so does ``newest_first``: 1.0.0 and
            # 1.0.0+build.7 are one version, so an agent holds only one of them (migration
            # 0017). Uploads look versions up by it (``services._same_package``).
            models.UniqueConstraint(
                fields=["agent", "precedence"], name="one_precedence_per_agent"
            ),
        ]
        indexes = [
            # An agent's versions in ``newest_first`` order, every sort key in the index: "the
            # newest version" is the first entry of a backward scan, however many versions
            # there are and whatever the planner's row estimates (with only the precedence
            # indexed it sorted all of an agent's versions when its statistics were stale).
            models.Index(fields=NEWEST_FIRST, name="version_newest_first_per_agent"),
            # The same for public versions only: the newest public one in one probe, even when
            # none is (a walk down the index above reads every version before it knows).
            # Uploads are not public, so they do not write to it.
            models.Index(
                fields=NEWEST_FIRST, condition=PUBLIC_VERSION, name="public_version_newest_first"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent}@{self.version}"

    def save(self, *args, **kwargs):
        self.precedence = precedence_key(self.version)
        super().save(*args, **kwargs)

    @property
    def is_released(self) -> bool:
        """``AgentVersionQuerySet.released`` for one version."""
        return (
            self.certification_status == CertificationStatus.CERTIFIED
            and self.review_status == ReviewStatus.APPROVED
            and self.yanked_at is None
        )

    @property
    def is_public(self) -> bool:
        """``AgentVersionQuerySet.public`` for one version."""
        return self.is_released and self.tenant.is_active


class WorkflowPackageQuerySet(models.QuerySet):
    def public(self):
        """What every tenant may read: approved by a reviewer."""
        return self.filter(status=ReviewStatus.APPROVED)


class WorkflowPackage(models.Model):
    """A signed JSON document composing certified agents into a workflow (WPK)."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="wpks")
    name = models.SlugField(max_length=64)
    version = models.CharField(max_length=128)
    content = models.JSONField()
    digest = models.CharField(max_length=64, help_text="sha256 of the signed canonical JSON")
    signature = models.CharField(max_length=128)
    signing_key = models.ForeignKey(VendorKey, on_delete=models.PROTECT, related_name="wpks")
    status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    review_reason = models.CharField(max_length=1000, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkflowPackageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name", "version"], name="one_wpk_version_per_vendor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


class PlanKind(models.TextChoices):
    FREE = "free", "Free"
    ONE_TIME = "one_time", "One-time"  # as the pages write it ("One-time price")
    METERED = "metered", "Metered"


class PricePlanQuerySet(models.QuerySet):
    def orderable(self):
        """What new orders may name: the current version of each plan, not retired."""
        return self.filter(is_current=True, retired_at__isnull=True)


class PricePlan(models.Model):
    """One version of a vendor's price plan for an agent.

    Versions of one plan share ``key``. Once an order or entitlement refers to a version it
    is never edited: a revision creates the next version (marketplace/plans.py)."""

    # What a buyer gets, copied onto the entitlement (``snapshot``).
    TERMS_FIELDS = ("key", "version", "name", "kind", "currency", "amount", "terms")

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="plans")
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(max_length=64, help_text="stable across the plan's versions")
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=PlanKind.choices)
    currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217; blank when free")
    amount = models.PositiveBigIntegerField(default=0, help_text="one-time price, minor units")
    terms = models.JSONField(default=dict, blank=True, help_text="metered terms (pricing.py)")
    is_current = models.BooleanField(default=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PricePlanQuerySet.as_manager()

    class Meta:
        ordering = ["agent", "key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "key", "version"], name="one_plan_version_number"
            ),
            models.UniqueConstraint(
                fields=["agent", "key"],
                condition=models.Q(is_current=True),
                name="one_current_plan_version",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in PlanKind]), name="plan_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} plan {self.key} v{self.version}"

    @property
    def is_orderable(self) -> bool:
        return self.is_current and self.retired_at is None

    def snapshot(self) -> dict:
        """The terms as bought: kept on the entitlement so later versions never change it."""
        return {"plan_id": self.pk, **{name: getattr(self, name) for name in self.TERMS_FIELDS}}


class OrderStatus(models.TextChoices):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"


class OrderQuerySet(models.QuerySet):
    def sold_between(self, start, end=None):
        """Orders that were sold (paid, or free and completed) from ``start`` until ``end``
        (open without one): counted when they completed, refunded since or not (a refund is
        its own event, in the month it is given). The month's invoice lines and the vendor's
        sales read this."""
        sold = self.filter(
            status__in=[OrderStatus.COMPLETED, OrderStatus.REFUNDED], completed_at__gte=start
        )
        return sold if end is None else sold.filter(completed_at__lt=end)

    def refunded_between(self, start, end):
        """Orders refunded from ``start`` until ``end`` (their ``refunded_at``)."""
        return self.filter(status=OrderStatus.REFUNDED, refunded_at__gte=start, refunded_at__lt=end)

    def billable_one_time(self):
        """One-time orders with a price: what a monthly invoice charges (and credits back)."""
        return self.filter(plan__kind=PlanKind.ONE_TIME, amount__gt=0)


class Order(models.Model):
    """A tenant's purchase of a plan, keyed to the request's Idempotency-Key."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="orders")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="orders")
    plan = models.ForeignKey(PricePlan, on_delete=models.PROTECT, related_name="orders")
    seats = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    currency = models.CharField(max_length=3, blank=True)
    amount = models.PositiveBigIntegerField(default=0, help_text="minor units")
    breakdown = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255)
    request_digest = models.CharField(max_length=64, help_text="sha256 of the request body")
    payment_attempt = models.PositiveSmallIntegerField(default=0)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_detail = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    # What Stripe gave back of its payment outside EdgePlug's refunds, as its webhooks told
    # (``orders._given_back``): refunds made in Stripe's dashboard (the charge's
    # ``amount_refunded``) and disputes the bank won. A refund in full gives back only the
    # rest (``orders.refund_order``).
    refunded_in_stripe = models.PositiveBigIntegerField(
        default=0, db_default=0, help_text="minor units"
    )
    lost_in_disputes = models.PositiveBigIntegerField(
        default=0, db_default=0, help_text="minor units"
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="one_order_per_idempotency_key"
            ),
            models.UniqueConstraint(
                fields=["payment_intent_id"],
                condition=~models.Q(payment_intent_id=""),
                name="one_order_per_payment_intent",
            ),
            models.CheckConstraint(condition=models.Q(seats__gte=1), name="order_has_seats"),
        ]
        permissions = [("refund_order", "Can refund an order in full (finance)")]

    def __str__(self) -> str:
        return f"order {self.pk} {self.tenant} {self.plan} ({self.status})"

    @property
    def is_refundable(self) -> bool:
        """Finance may refund it in full (``orders.refund_order``): only a completed order."""
        return self.status == OrderStatus.COMPLETED

    @property
    def given_back_in_stripe(self) -> int:
        """What Stripe gave back of its payment outside EdgePlug's refunds (minor units)."""
        return self.refunded_in_stripe + self.lost_in_disputes

    @property
    def left_to_refund(self) -> int:
        """What a refund in full gives back (minor units): the rest of its price once Stripe
        gave some back (``given_back_in_stripe``), none past the price."""
        return max(self.amount - self.given_back_in_stripe, 0)


class EntitlementStatus(models.TextChoices):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


def _ended_by(now: datetime) -> models.Q:
    """An entitlement's validity ended by ``now`` (``valid_until`` excluded; open-ended never)."""
    return models.Q(valid_until__lte=now)


# What an entitlement whose validity ends goes from to ``expired``: active, or suspended (for
# non-payment: a plan ends when it ends, unpaid or not, and paying gives back only what runs).
_LAPSING = (EntitlementStatus.ACTIVE, EntitlementStatus.SUSPENDED)


def _lapsed_by(now: datetime) -> models.Q:
    """Still marked active or suspended, though its validity ended by ``now``."""
    return _ended_by(now) & models.Q(status__in=_LAPSING)


class EntitlementQuerySet(models.QuerySet):
    def in_force(self, now: datetime):
        """Active and valid at ``now``: from ``valid_from`` (included) to ``valid_until``
        (excluded; none when open-ended)."""
        return self.filter(status=EntitlementStatus.ACTIVE, valid_from__lte=now).not_ended(now)

    def not_ended(self, now: datetime):
        """Their validity not ended by ``now`` (open-ended, or ending later), whatever their
        status."""
        return self.exclude(_ended_by(now))

    def lapsed(self, now: datetime):
        """Still active or suspended, but their validity ended by ``now`` (``in_force``
        leaves them out): what ``expire_entitlements`` marks expired."""
        return self.filter(_lapsed_by(now))

    def with_status_at(self, now: datetime):
        """Each with ``status_at``: its status at ``now``, ``expired`` for a ``lapsed`` one
        whose status ``expire_entitlements`` (every 15 minutes) has not stored yet."""
        return self.annotate(
            status_at=models.Case(
                models.When(_lapsed_by(now), then=models.Value(EntitlementStatus.EXPIRED)),
                default=models.F("status"),
            )
        )

    def overlapping(self, start: datetime, end: datetime):
        """Valid at some point in [start, end), whatever their status now
        (``Entitlement.overlaps``)."""
        return self.filter(
            models.Q(valid_from__lt=end),
            models.Q(valid_until__isnull=True) | models.Q(valid_until__gt=start),
        )


class Entitlement(models.Model):
    """A tenant's right to download and deploy an agent, on the terms it bought."""

    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="entitlements"
    )
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="entitlements")
    plan = models.ForeignKey(PricePlan, on_delete=models.PROTECT, related_name="entitlements")
    plan_snapshot = models.JSONField()
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="entitlement")
    seats = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=EntitlementStatus.choices, default=EntitlementStatus.ACTIVE
    )
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=500, blank=True)
    # When the tenant cancelled its metered plan (``marketplace.cancellation``): its
    # ``valid_until`` is then the end of that UTC month. Cleared by a resume before then.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EntitlementQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "agent", "status"])]

    def __str__(self) -> str:
        return f"{self.tenant} → {self.agent} ({self.status})"

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Valid at some point in [start, end) (``Entitlement.objects.overlapping``)."""
        return self.valid_from < end and (self.valid_until is None or self.valid_until > start)

    @property
    def cancel_at(self) -> datetime | None:
        """When a cancelled entitlement ends, or ended (its ``valid_until``, before and after
        the expiry job marks it expired); None if not cancelled, or ended otherwise since
        (revoked by a refund in full: it ended then)."""
        revoked = self.status == EntitlementStatus.REVOKED
        return self.valid_until if self.cancelled_at and not revoked else None


class GivenBackSource(models.TextChoices):
    REFUND = "refund", "refunded in Stripe"
    DISPUTE = "dispute", "dispute lost"
    # A refund counted before that Stripe failed later: its amount is counted back.
    REFUND_FAILED = "refund_failed", "refund failed in Stripe"


class GivenBackInPart(models.Model):
    """An amount Stripe gave back of a completed order's payment that left it completed (a
    refund made in Stripe's dashboard, a dispute lost in part): one row per new amount,
    written by ``orders._given_back`` under the order's lock with its ``order_refunded_in_part``
    audit event. The vendor's payout counts each a refund of the month it was given back in
    (``billing.payout_queries``). A refund made in the dashboard that Stripe failed later is
    counted back once, in the month the failure was told, by a row of a negative ``amount``
    (``orders._count_back_failed_refund``, source ``refund_failed``)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="given_back_in_part")
    # Negative: a failed refund counted back.
    amount = models.BigIntegerField(help_text="minor units of the order's currency")
    # All given back of the order with this amount (the order's ``refunded_in_stripe`` plus
    # ``lost_in_disputes`` then), and all its failed refunds counted back (``failed_so_far``)
    # then: the pair only grows (a failed refund lowers the first by what it raises the
    # second), so it names the amount once, whoever tells it again (a redelivered webhook,
    # marketplace 0022's fill run again).
    given_back_so_far = models.PositiveBigIntegerField(help_text="minor units")
    failed_so_far = models.PositiveBigIntegerField(default=0, db_default=0, help_text="minor units")
    given_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, choices=GivenBackSource.choices)
    # The refunded PaymentIntent, the lost dispute, or the failed refund; blank when not known
    # (a dispute told before this table: its event did not name it).
    reference = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["given_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "given_back_so_far", "failed_so_far"],
                name="given_back_in_part_once",
            ),
            models.UniqueConstraint(
                fields=["order", "reference"],
                condition=models.Q(source="refund_failed"),
                name="failed_refund_counted_back_once",
            ),
        ]
        indexes = [models.Index(fields=["given_at"], name="given_back_in_part_by_time")]

    def __str__(self) -> str:
        return f"{self.amount} given back of order {self.order_id} ({self.source})"


class DownloadKind(models.TextChoices):
    PACKAGE = "package"
    BUNDLE = "bundle"


class Download(models.Model):
    """One download of a version by a tenant (the vendor's own downloads included)."""

    version = models.ForeignKey(AgentVersion, on_delete=models.CASCADE, related_name="downloads")
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=DownloadKind.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.version_id} by {self.tenant_id}"


class Device(models.Model):
    """A tenant's microcontroller gateway. Its token is shown once and stored hashed; the
    prefix stays visible so people can tell tokens apart."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=100)
    hardware_id = models.CharField(max_length=128)
    core = models.CharField(max_length=32)
    token_prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    token_created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # A revoked device keeps its row (its usage names it) but frees its hardware id.
            models.UniqueConstraint(
                fields=["tenant", "hardware_id"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_device_per_hardware_id",
            ),
            # The target of a usage event's (device, tenant) foreign key (billing 0009).
            models.UniqueConstraint(fields=["id", "tenant"], name="device_id_with_tenant"),
        ]
        # The device list's order within a tenant: a page reads its rows, not the fleet sorted.
        indexes = [models.Index(fields=["tenant", "name", "id"], name="device_list_order")]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_prefix}...)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class _MoreRowsThan(models.Subquery):
    """Whether ``queryset`` has more than ``n`` rows, ``n`` an expression (it may read the outer
    query's row, which slicing cannot). PostgreSQL looks for the row after the first ``n`` of
    the queryset's order, reading ``n`` + 1 of them however many there are; SQLite takes no
    outer column in OFFSET and counts them all."""

    template = "((%(subquery)s OFFSET %(n)s) IS NOT NULL)"
    counting_template = "((SELECT COUNT(*) FROM %(rows)s) > %(n)s)"

    def __init__(self, queryset, n):
        super().__init__(queryset[:1], output_field=models.BooleanField())
        self.n = n

    def get_source_expressions(self):
        return [self.query, self.n]

    def set_source_expressions(self, exprs):
        self.query, self.n = exprs

    def as_sql(self, compiler, connection, template=None, **extra_context):
        n, n_params = compiler.compile(self.n)
        sql, params = super().as_sql(compiler, connection, template, n=n, **extra_context)
        return sql, (*params, *n_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        query = self.query.clone()
        query.clear_limits()
        query.clear_ordering(force=True)
        rows, params = query.as_sql(compiler, connection)
        n, n_params = compiler.compile(self.n)
        return self.counting_template % {"rows": rows, "n": n}, (*params, *n_params)


class DeploymentQuerySet(models.QuerySet):
    def holding_seats(self, now: datetime):
        """Those holding a seat at ``now``, the one rule of what may run (assignments, the
        device's bundle): the tenant's entitlements to the agent in force at ``now`` give their
        seats (``within_seats``). Usage ingest asks ``within_seats`` at each event's start."""
        tenant, agent = models.OuterRef("tenant"), models.OuterRef("agent")
        seats = (
            Entitlement.objects.filter(tenant=tenant, agent=agent)
            .in_force(now)
            .order_by()
            .values("agent")
            .annotate(total=models.Sum("seats"))
            .values("total")
        )
        # No entitlement in force: no seats (NULL), and a comparison with NULL holds none.
        return self.within_seats(models.Subquery(seats))

    def within_seats(self, seats):
        """Those holding one of ``seats`` (an expression, which may read the deployment's
        row; NULL: none): the tenant's deployments of the agent take them oldest first (by
        ``created_at``, then id). A deployment beyond the seats (a refund or an expiry left
        fewer than are deployed) holds none.

        A deployment holds a seat when fewer older ones than the seats exist: the database
        looks for the one ``seats`` places back (newest first), reading at most ``seats``
        entries of the ``deployment_seat_order`` index, not every older deployment of the
        tenant's fleet. The seats are summed when asked, not stored: they lapse unwritten."""
        tenant, agent = models.OuterRef("tenant"), models.OuterRef("agent")
        older = (
            Deployment.objects.filter(
                tenant=tenant, agent=agent, created_at__lte=models.OuterRef("created_at")
            )
            .filter(
                models.Q(created_at__lt=models.OuterRef("created_at"))
                | models.Q(pk__lt=models.OuterRef("pk"))
            )
            .order_by("-created_at", "-pk")
            .values("pk")
        )
        return self.alias(
            seats_given=seats,
            seats_all_older=_MoreRowsThan(
                older, Greatest(Coalesce(models.F("seats_given"), 0) - 1, 0)
            ),
        ).filter(seats_given__gt=0, seats_all_older=False)


class Deployment(models.Model):
    """One agent version assigned to a device; it takes one seat of the tenant's entitlements
    (``holding_seats``)."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="deployments")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="deployments")
    version = models.ForeignKey(AgentVersion, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeploymentQuerySet.as_manager()

    class Meta:
        ordering = ["device", "agent", "id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "agent"], name="one_deployment_per_agent")
        ]
        # ``holding_seats`` looks up to the seats in force back among the deployments of a
        # tenant's agent older than each, newest first: a few entries of one index range, not
        # a scan of the tenant's fleet, on every device request.
        indexes = [
            models.Index(
                fields=["tenant", "agent", "created_at", "id"], name="deployment_seat_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} on {self.device}"


MAX_STARS = 5  # a review rates from 1 to this


class ReviewQuerySet(models.QuerySet):
    def visible(self):
        """Reviews customers read: not hidden by staff (``reviews.hide_review``)."""
        return self.filter(hidden_at__isnull=True)


class Review(models.Model):
    """One tenant's rating of an agent; an update replaces it. Text is stored as given."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="reviews")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    stars = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=120)
    text = models.TextField(max_length=5000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    vendor_reply = models.TextField(max_length=5000, blank=True)
    vendor_reply_at = models.DateTimeField(null=True, blank=True)
    vendor_reply_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=500, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "agent"], name="one_review_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(stars__gte=1, stars__lte=MAX_STARS), name="review_stars_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stars} star{pluralize(self.stars)} for {self.agent} by {self.tenant}"


class CatalogueListing(models.Model):
    """What the catalogue filters, facets and sorts on, one row per agent with a public
    version: figures from the newest public version's certificate (not the vendor's claim),
    the plans on offer, ratings and popularity. Rebuilt by ``marketplace.catalogue``."""

    agent = models.OneToOneField(
        Agent, on_delete=models.CASCADE, primary_key=True, related_name="listing"
    )
    version = models.ForeignKey(AgentVersion, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=64)
    agent_type = models.CharField(max_length=64, blank=True, db_index=True)
    description = models.TextField(blank=True)
    vendor_name = models.CharField(max_length=200)
    search_text = models.TextField(blank=True)
    search_vector = SearchVectorField(null=True, editable=False)
    license = models.CharField(max_length=100, blank=True, db_index=True)
    core = models.CharField(max_length=32, blank=True, db_index=True)
    level = models.CharField(max_length=16, blank=True, db_index=True)
    certificate_id = models.BigIntegerField(null=True, blank=True)
    model_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    arena_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    latency_median_us = models.PositiveIntegerField(null=True, blank=True)
    latency_worst_us = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    has_free = models.BooleanField(default=False)
    has_one_time = models.BooleanField(default=False)
    has_metered = models.BooleanField(default=False)
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    active_entitlements = models.PositiveIntegerField(default=0, db_index=True)
    published_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"listing of {self.agent_id}"

    @property
    def price_models(self) -> list[str]:
        flags = (("free", self.has_free), ("one_time", self.has_one_time))
        return [name for name, on in (*flags, ("metered", self.has_metered)) if on]


class CatalogueGeneration(models.Model):
    """The cached catalogue's generation (``marketplace.catalogue_cache``), in one row: a cached
    answer is served only while this row holds the generation it was stored under. Kept here,
    not in the cache beside the answers, so that a cache restored from an older snapshot, or
    one the change could not reach, holds no answer of the current generation."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    generation = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="one_catalogue_generation")
        ]

    def __str__(self) -> str:
        return f"catalogue generation {self.generation}"
