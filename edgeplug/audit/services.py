"""record_event: the one way anything writes to the audit log."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from edgeplug.audit.models import AuditEvent
from edgeplug.core.logging import request_id_var
from edgeplug.tenancy.staff import acts_as_platform_staff


def client_ip(request) -> str | None:
    """The client's address, the one rule for the audit log, the sign-in lockout (axes'
    ``AXES_CLIENT_IP_CALLABLE``) and the API's throttles: the TCP peer (``REMOTE_ADDR``); or,
    behind ``TRUSTED_PROXY_HOPS`` proxies that each append the address they were reached from
    to ``X-Forwarded-For``, the entry that many places from its end. What a client writes in
    that header itself comes before those, and is never read."""
    if request is None:
        return None
    meta = getattr(request, "META", {})
    if hops := settings.TRUSTED_PROXY_HOPS:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= hops and forwarded[-hops]:
            return forwarded[-hops]
    return meta.get("REMOTE_ADDR") or None


def record_event(
    action: str,
    *,
    request=None,
    actor=None,
    tenant=None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    if tenant is None and request is not None:
        tenant = getattr(request, "tenant", None)
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_email=getattr(actor, "email", "") or (details or {}).get("email", ""),
        tenant=tenant,
        by_platform_staff=acts_as_platform_staff(actor, tenant),
        target=target[:255],
        ip=client_ip(request),
        request_id=request_id_var.get() if request_id_var.get() != "-" else "",
        details=details or {},
    )


def record_if_denied(request, error, *, actor=None) -> None:
    """Audit a domain error a door answers as ``permission_denied`` when it is a 403 (an
    action's ``Forbidden``), as the API's exception handler audits one: the gRPC services,
    the vendor portal's and the admin's actions. ``actor``: who was refused, when it is
    not the request's user (a sign-in that verified them, not yet signed in)."""
    if error.status == 403:
        record_denial(request, code=error.code, detail=error.detail, actor=actor)


def recorded(action: str, **details: Any) -> bool:
    """Whether an ``action`` event with these ``details`` is in the log already: for what is
    told once however many times its cause is seen (a webhook delivered again, two events of
    one refund). The caller holds the lock that serialises the telling."""
    return AuditEvent.objects.filter(
        action=action, **{f"details__{key}": value for key, value in details.items()}
    ).exists()


def record_denial(
    request, *, code: str = "permission_denied", detail: str = "", actor=None
) -> AuditEvent:
    """Audit a request refused with a 403 as ``permission_denied``, the same whichever door
    refused it (the API's exception handler, the vendor portal's page guard and its actions'
    refusals, the 403 handler of the admin and every other page): the caller, their tenant
    when known, ``METHOD path`` as the target, and in ``details`` the URL's view name
    (``view``), the refusal's ``code`` and what it said (``detail``)."""
    match = getattr(request, "resolver_match", None)
    return record_event(
        "permission_denied",
        request=request,
        actor=actor,
        target=f"{request.method} {request.path}",
        details={"view": match.view_name if match else "", "code": code, "detail": detail},
    )


def record_change(
    action: str,
    obj,
    *,
    actor=None,
    request=None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Audit a write to one tenant-owned object: the event belongs to ``obj.tenant`` and names
    the object (``str(obj)`` unless ``target`` says otherwise)."""
    return record_event(
        action,
        request=request,
        actor=actor,
        tenant=obj.tenant,
        target=str(obj) if target is None else target,
        details=details,
    )


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``details.fields`` of a ``*_changed`` event (``user_changed``, ``tenant_changed``):
    each field of ``after`` whose value differs from ``before``'s, as ``{"from", "to"}``."""
    return {
        name: {"from": before[name], "to": value}
        for name, value in after.items()
        if before[name] != value
    }
