"""Tenants and the roles their members hold."""

from django.conf import settings
from django.db import models

# A tenant sells, buys, or both: the database's check, its form error and the actions' refusal.
TENANT_KIND_RULE = "A tenant is a vendor, a customer, or both."


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    DEVELOPER = "developer", "Developer (may upload and sign)"
    OPERATOR = "operator", "Operator (devices, usage)"
    BILLING = "billing", "Billing (invoices)"


class StaffGroup(models.TextChoices):
    """Platform staff roles, held through Django groups rather than tenant memberships."""

    REVIEWERS = "reviewers"
    FINANCE = "finance"
    PLATFORM_ADMINS = "platform-admins"


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    is_vendor = models.BooleanField(default=False)
    is_customer = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_vendor=True) | models.Q(is_customer=True),
                name="tenant_is_vendor_or_customer",
                # What update_tenant and create_tenant say (TENANT_KIND_RULE): forms show it.
                violation_error_message=TENANT_KIND_RULE,
            )
        ]

    def __str__(self) -> str:
        return self.slug


class RetiredSlug(models.Model):
    """A slug a tenant gave up in a rename (written by ``update_tenant`` in the rename's
    transaction). The manifests of its packages and the certificates signed for them still
    name their vendor by it, so no other tenant may take it (``checked_tenant_slug``); the
    tenant that held it may take it back."""

    slug = models.SlugField(max_length=64, unique=True)
    # Tenants are not deleted (their admin page cannot; staff deactivate one instead).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="retired_slugs")
    retired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class MembershipQuerySet(models.QuerySet):
    def live(self):
        """Memberships that count: their tenant is active. A deactivated tenant's members can
        no longer sign in to it, its tokens stop working at their next request, and /me no
        longer lists it."""
        return self.filter(tenant__is_active=True)


class Membership(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["tenant__slug", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="one_membership_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        # No role: the admin titles each membership row with it, and a refused save keeps the
        # role that was chosen in the row's form (and in the instance), not the saved one.
        return f"{self.user} @ {self.tenant}"
