"""Who is at the portal and for which vendor: the session's tenant, the role read fresh from
the database on every request (so a role change applies at once), the TOTP gate, and the
API's request budgets per user and per tenant, which the portal's writes share.

A page wrapped in ``vendor_page`` finds ``request.tenant`` and ``request.role`` set exactly as
the API's JWT authentication sets them, so ``for_request`` scopes its queries the same way.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_otp import devices_for_user

from billing.payout_queries import has_payouts_filter
from edgeplug.audit.services import record_denial
from edgeplug.core.error_views import error_response
from edgeplug.core.throttling import request_wait
from edgeplug.errors import Throttled
from edgeplug.tenancy.models import Membership, Role
from edgeplug.tenancy.permissions import TenantPower
from marketplace.powers import PUBLISH, is_vendor

SESSION_TENANT = "portal_tenant_id"
# Reading a page spends no budget: a vendor whose API clients used it up can still see the
# portal, and only what would change something is refused.
_READ_METHODS = ("GET", "HEAD", "OPTIONS")
# The refusal's audit detail; the page (portal/not_a_vendor.html) says it at more length.
NOT_A_VENDOR = "Only members of an active vendor tenant can use the vendor portal."


def vendor_memberships(user):
    """The user's memberships of active vendors, and of former vendors whose payouts stay
    readable (``billing.powers.READ_PAYOUTS``): their other pages answer ``not_a_vendor``."""
    return (
        Membership.objects.select_related("tenant")
        .filter(has_payouts_filter(), user=user, tenant__is_active=True)
        .order_by("tenant__slug")
    )


def has_totp(user) -> bool:
    return any(devices_for_user(user, confirmed=True))


def _needs_enrolment(request, membership: Membership) -> bool:
    """Vendor admins act only after a TOTP sign-in; without a device they enrol first."""
    return membership.role == Role.ADMIN and not request.user.is_verified()


def current_membership(request) -> Membership | None:
    """The membership this session signed in for, while it lasts (None once it has ended)."""
    tenant_id = request.session.get(SESSION_TENANT)
    if tenant_id is None:
        return None
    return vendor_memberships(request.user).filter(tenant_id=tenant_id).first()


def can_publish(request) -> bool:
    return PUBLISH.held(getattr(request, "tenant", None), getattr(request, "role", None))


def wants_json(request) -> bool:
    """The page's own script sent this (the upload form does, to show progress)."""
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _throttled(request, wait: int) -> HttpResponse:
    """Refused before the view runs, so nothing is read from the body or written."""
    detail = f"Too many requests from you or your team: try again in {wait} s."
    if wants_json(request):
        return error_response(Throttled(detail, retry_after=wait))
    response = render(request, "portal/throttled.html", {"detail": detail}, status=429)
    response["Retry-After"] = str(wait)
    return response


def over_budget(request) -> HttpResponse | None:
    """A write from a page counted against the API's budgets per user and per tenant
    (``request.tenant``, when set): the 429 page (or JSON) once past either, else None."""
    wait = request_wait(request)
    return _throttled(request, wait) if wait else None


def count_enrolment(request) -> HttpResponse | None:
    """``over_budget`` for the TOTP enrolment page (outside ``vendor_page``: its admin has not
    enrolled yet): a start or a confirmation counts as the API's ``POST …/mfa/totp`` and
    ``…/confirm`` do, against the user's budget and that of the tenant chosen at sign-in."""
    membership = current_membership(request)
    request.tenant = membership.tenant if membership else None
    return over_budget(request)


def vendor_page(
    view: Callable | None = None,
    *,
    roles: tuple[str, ...] = (),
    power: TenantPower | None = None,
):
    """Signed in, a member of an active vendor tenant, past the TOTP gate; ``roles`` limits
    the page to those roles, ``power`` to those who hold it (the API's permission of the same
    power: its roles, and its own rule for the tenant, which replaces "a vendor"). Others get
    a 403 page that says why; each refusal is audited as ``permission_denied``, as the API's
    are. A write (any method but a read) counts against the API's budgets per user and per
    tenant, and past either is refused with 429 and ``Retry-After``."""
    if power is not None:
        roles = power.roles
    tenant_qualifies = power.tenant_qualifies if power is not None else is_vendor

    def decorate(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect(f"{reverse('portal:sign-in')}?next={request.get_full_path()}")
            membership = current_membership(request)
            if membership is None or not tenant_qualifies(membership.tenant):
                record_denial(request, code="not_a_vendor", detail=NOT_A_VENDOR)
                return render(request, "portal/not_a_vendor.html", status=403)
            if _needs_enrolment(request, membership):
                if has_totp(request.user):
                    # A device was added after this sign-in: sign in again with its code.
                    logout(request)
                    return redirect(reverse("portal:sign-in"))
                return redirect(reverse("portal:enrol"))
            request.tenant, request.role = membership.tenant, membership.role
            request.membership = membership
            if roles and membership.role not in roles:
                allowed = [Role(r).label for r in roles]
                record_denial(
                    request,
                    detail=f"This page is for {' and '.join(allowed)} members; you are "
                    f"{membership.get_role_display()}.",
                )
                return render(
                    request,
                    "portal/forbidden.html",
                    {"roles": allowed},
                    status=403,
                )
            # After the role check, as the API checks permissions before its throttles.
            if request.method not in _READ_METHODS and (refused := over_budget(request)):
                return refused
            return func(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
