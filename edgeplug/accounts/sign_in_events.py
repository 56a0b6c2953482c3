"""The audit events of signing in and out (``login``, ``logout``): one function each, called by
every door (API tokens, the portal's and the admin's sessions), so each event reads the same
whichever door it came through."""

from edgeplug.audit.models import AuditEvent
from edgeplug.audit.services import record_event

# Set on the request by a door whose action records its own sign-in (with tenant and role):
# the user_logged_in receiver then records nothing, so one sign-in is one event.
SIGN_IN_RECORDED = "edgeplug_sign_in_recorded"


def record_sign_in(request, user, *, membership=None, method: str, mfa: bool) -> AuditEvent:
    """Audit a sign-in (``login``): the tenant and role it is for (none for the admin's staff
    sign-in), ``method`` ``"jwt"`` (API tokens) or ``"session"`` (portal, admin), and whether
    a second factor was verified."""
    return record_event(
        "login",
        request=request,
        actor=user,
        tenant=membership.tenant if membership else None,
        target=user.email,
        details={"method": method, "role": membership.role if membership else None, "mfa": mfa},
    )


def record_logout(
    request, user, *, tenant=None, method: str, details: dict | None = None
) -> AuditEvent:
    """Audit a sign-out (``logout``) of ``user`` (None if the account no longer exists):
    actor and target are the user, ``method`` ``"jwt"`` (a revoked refresh token, its ``jti``
    in ``details``) or ``"session"`` (portal, admin)."""
    return record_event(
        "logout",
        request=request,
        actor=user,
        tenant=tenant,
        target=user.email if user is not None else "",
        details={"method": method, **(details or {})},
    )
