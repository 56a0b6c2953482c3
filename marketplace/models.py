"""The registry: vendor signing keys, agents, their immutable versions, and workflow packages."""

from django.conf import settings
from django.db import models

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
        ordering = ["-created_at"]
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


class AgentVersionQuerySet(models.QuerySet):
    def public(self):
        """What customers may see: certified, approved by a reviewer, not yanked."""
        return self.filter(PUBLIC_VERSION)

    def newest_first(self):
        """Highest SemVer precedence first, in SQL; equal precedence, newest upload first."""
        return self.order_by("-precedence", "-created_at", "-id")


class AgentVersion(models.Model):
    """One uploaded package. Immutable once stored: only its statuses and yank change."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="versions")
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
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
        ]
        indexes = [
            models.Index(fields=["agent", "precedence"], name="version_precedence_per_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.agent}@{self.version}"

    def save(self, *args, **kwargs):
        self.precedence = precedence_key(self.version)
        super().save(*args, **kwargs)

    @property
    def is_public(self) -> bool:
        return (
            self.certification_status == CertificationStatus.CERTIFIED
            and self.review_status == ReviewStatus.APPROVED
            and self.yanked_at is None
        )


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

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name", "version"], name="one_wpk_version_per_vendor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"
