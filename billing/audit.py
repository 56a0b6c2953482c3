"""How billing actions audit what happened to a numbered invoice: one shape for every event."""

from __future__ import annotations

from typing import Any

from billing.models import Invoice
from edgeplug.audit.services import record_event


def record_invoice_event(
    action: str, invoice: Invoice, *, actor=None, request=None, **details: Any
) -> None:
    """An audit event on ``invoice`` (target ``invoice <number>``, or ``invoice <id>`` while a
    draft has no number; its tenant), the details led by the invoice's id, so that the audit
    log filtered on one invoice shows its whole history, draft to credit note."""
    record_event(
        action,
        request=request,
        actor=actor,
        tenant=invoice.tenant,
        target=f"invoice {invoice.number or invoice.pk}",
        details={"invoice": invoice.pk, **details},
    )
