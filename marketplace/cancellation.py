"""A tenant cancels its metered plan at the end of the UTC month, or takes the cancellation
back before then (docs/commerce.md, *Cancelling a metered plan*).

The month close bills a metered entitlement, its monthly fee and its hours, for every month
its validity overlaps (``billing.invoice_builder``), and metering accepts usage only within
it: ending its validity at the start of the next month (``billing.periods.next_month``) keeps
it usable to the end of the month it is cancelled in, bills that month, and no month after.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from billing.periods import next_month
from edgeplug.audit.services import record_change
from edgeplug.core.locking import locked
from edgeplug.timefmt import utc_iso
from marketplace.errors import EntitlementEnded, NotCancellable, NotCancelled
from marketplace.models import Entitlement, EntitlementStatus, PlanKind

_ENDED = (EntitlementStatus.REVOKED, EntitlementStatus.EXPIRED)


def _reject_not_metered(entitlement: Entitlement) -> None:
    kind = entitlement.plan_snapshot.get("kind")
    if kind != PlanKind.METERED:
        raise NotCancellable(
            f"Entitlement {entitlement.pk} is of a {PlanKind(kind).label.lower()} plan: it "
            "bills nothing month by month, so there is nothing to cancel. Only a metered "
            "plan is cancelled."
        )


def _reject_ended(entitlement: Entitlement, now: datetime) -> None:
    if entitlement.status in _ENDED:
        raise EntitlementEnded(f"Entitlement {entitlement.pk} is {entitlement.status}.")
    if entitlement.valid_until is not None and entitlement.valid_until <= now:
        raise EntitlementEnded(
            f"Entitlement {entitlement.pk} ended at {utc_iso(entitlement.valid_until)}."
        )


def _audit(action: str, entitlement: Entitlement, actor, request, **details) -> None:
    details = {"agent": entitlement.agent_id, "order": entitlement.order_id, **details}
    target = f"entitlement {entitlement.pk}"
    record_change(action, entitlement, actor=actor, request=request, target=target, details=details)


def cancel_entitlement(entitlement: Entitlement, *, actor=None, request=None) -> Entitlement:
    """End a metered entitlement at the end of this UTC month: valid (and billed) until the
    next month starts. Cancelled already: as it is (its end unchanged, nothing audited)."""
    with transaction.atomic():
        entitlement = locked(entitlement)
        now = timezone.now()
        _reject_not_metered(entitlement)
        _reject_ended(entitlement, now)
        if entitlement.cancelled_at is None:
            entitlement.cancelled_at, entitlement.valid_until = now, next_month(now)
            entitlement.save(update_fields=["cancelled_at", "valid_until", "updated_at"])
            _audit(
                "entitlement_cancelled",
                entitlement,
                actor,
                request,
                ends_at=utc_iso(entitlement.valid_until, seconds=True),
            )
    return entitlement


def resume_entitlement(entitlement: Entitlement, *, actor=None, request=None) -> Entitlement:
    """Take back a cancellation not come yet: the entitlement is open-ended again, as bought."""
    with transaction.atomic():
        entitlement = locked(entitlement)
        _reject_ended(entitlement, timezone.now())
        if entitlement.cancelled_at is None:
            raise NotCancelled(f"Entitlement {entitlement.pk} is not cancelled.")
        ends_at = entitlement.valid_until
        entitlement.cancelled_at = entitlement.valid_until = None
        entitlement.save(update_fields=["cancelled_at", "valid_until", "updated_at"])
        _audit(
            "entitlement_resumed",
            entitlement,
            actor,
            request,
            was_to_end_at=utc_iso(ends_at, seconds=True),
        )
    return entitlement
