"""Signals the business apps listen to, sent inside the transaction of the change (edgeplug
never imports those apps, so they follow tenant changes through these).

``tenant_changed(sender=Tenant, tenant=..., changed={field: {"from": ..., "to": ...}})``: a tenant's
name, slug, kinds or active flag changed (``update_tenant``); the marketplace rebuilds the
catalogue listings that carry the vendor's name."""

from django.dispatch import Signal

tenant_changed = Signal()
