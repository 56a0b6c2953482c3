"""AuditEvent rows are written once and never changed or deleted (also enforced in PostgreSQL)."""

from django.conf import settings
from django.db import models
from django.utils.formats import date_format


class AppendOnlyError(Exception): ...


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Staff identities are not told to tenants (docs/roles.md): whether the actor was platform
    # staff acting on the tenant, not its member, as the event was written, so the tenant's
    # trail keeps hiding them after they leave the staff or their account goes.
    by_platform_staff = models.BooleanField(default=False, db_default=False)
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # A tenant's trail in its order (the tenant's admins read it): not the platform's log
        # walked back past every other tenant's events.
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="audit_tenant_trail_order")
        ]

    def __str__(self) -> str:
        return f"{date_format(self.created_at, 'DATETIME_FORMAT')} {self.action} {self.actor_email}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")
