"""Who is at the portal and for which vendor: the session's tenant, the role read fresh from
the database on every request (so a role change applies at once), the TOTP gate, and the
API's request budgets per user and per tenant, which the portal's writes share.

A page wrapped in ``vendor_page`` finds ``request.tenant`` and ``request.role`` set exactly as
the API's JWT authentication sets them, so ``for_request`` scopes its queries the same way.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, wraps
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import devices_for_user

from billing.payout_queries import has_payouts_filter
from billing.powers import READ_PAYOUTS
from edgeplug.accounts.sign_in_events import record_logout
from edgeplug.audit.services import record_if_denied
from edgeplug.core.error_views import (
    error_response,
    refusal_page_response,
    wants_json,
)
from edgeplug.core.throttling import request_wait
from edgeplug.errors import DomainError, Forbidden, Throttled
from edgeplug.tenancy.models import Membership, Role, Tenant
from edgeplug.tenancy.permissions import TENANT_ADMIN, TenantPower
from marketplace.errors import NotAVendor
from marketplace.powers import PUBLISH, TAKE_BACK, VENDOR_MEMBER

SESSION_TENANT = "portal_tenant_id"
# Reading a page spends no budget: a vendor whose API clients used it up can still see the
# portal, and only what would change something is refused.
_READ_METHODS = ("GET", "HEAD", "OPTIONS")


def vendor_memberships(user):
    """The user's memberships of active vendors, and of former vendors whose payouts stay
    readable (``billing.powers.READ_PAYOUTS``): their other pages answer ``not_a_vendor``."""
    return (
        Membership.objects.live()
        .select_related("tenant")
        .filter(has_payouts_filter(), user=user)
        .order_by("tenant__slug")
    )


def end_session(request, tenant: Tenant | None) -> None:
    """Sign the person out of the portal (audited ``logout`` for ``tenant``, as the API's)."""
    record_logout(request, request.user, tenant=tenant, method="session")
    logout(request)


def has_totp(user) -> bool:
    return any(devices_for_user(user, confirmed=True))


def needs_enrolment(membership: Membership, *, verified: bool) -> bool:
    """Vendor admins act only after a TOTP sign-in (``verified``); without a device they enrol
    first."""
    return membership.role == Role.ADMIN and not verified


def current_membership(request) -> Membership | None:
    """The membership this session signed in for, while it lasts (None once it has ended)."""
    tenant_id = request.session.get(SESSION_TENANT)
    if tenant_id is None:
        return None
    return vendor_memberships(request.user).filter(tenant_id=tenant_id).first()


def _opens(power: TenantPower, pages: str) -> cached_property:
    """A ``MemberPages`` flag: whether the member's role holds ``power`` in the tenant."""
    flag = cached_property(lambda self: power.held(self.tenant, self.role))
    flag.__doc__ = pages
    return flag


@dataclass(frozen=True)
class MemberPages:
    """Which portal pages the signed-in member may open (``request.can`` on a page), each by
    the power its views give ``vendor_page``: the nav and the pages link only to these."""

    tenant: Tenant
    role: str

    vendor = _opens(
        VENDOR_MEMBER, "The vendor's own pages: dashboard, agents and versions, workflows."
    )
    publish = _opens(
        PUBLISH,
        "Upload, register a key, a new plan or price, certify, a workflow package's upload.",
    )
    take_back = _opens(
        TAKE_BACK, "Signing keys and pricing, to revoke a key, retire a plan or yank a version."
    )
    payouts = _opens(READ_PAYOUTS, "Sales and payout statements.")
    team = _opens(TENANT_ADMIN, "The team page: members and their roles.")

    @cached_property
    def home(self) -> str:
        """Where a sign-in lands and the brand links: the first of these pages the member may
        open (the password page, which every member may, when none of the others)."""
        if self.vendor:
            return "portal:dashboard"
        return "portal:sales" if self.payouts else "portal:password"


def _refused(request, template: str, context: dict, error: DomainError) -> HttpResponse:
    """A guard's refusal, answered as its caller reads it: to a page's script (the upload
    form's) ``error_response``'s JSON, its ``code`` and ``detail``; else ``template``, in the
    portal's frame, with the error's status."""
    if wants_json(request):
        return error_response(error)
    return refusal_page_response(request, template, context, error)


def _throttled(request, wait: int) -> HttpResponse:
    """Refused before the view runs, so nothing is read from the body or written."""
    detail = f"Too many requests from you or your team: try again in {wait} s."
    return _refused(request, "portal/throttled.html", {}, Throttled(detail, retry_after=wait))


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


def _seat(request, membership: Membership) -> None:
    """The request acts for ``membership``: its tenant and role as the API's JWT
    authentication sets them, and the pages it may open."""
    request.tenant, request.role = membership.tenant, membership.role
    request.membership = membership
    request.can = MemberPages(membership.tenant, membership.role)


def sign_in_url(request) -> str:
    """The sign-in page, coming back to this page (its query string too) once signed in; for
    a form's submit, to the page the form was on (its ``Referer``, one of the portal's), as
    the submit's address answers only submits: the sign-in used to land on a bare 405."""
    back = request.get_full_path() if request.method in _READ_METHODS else _form_page(request)
    return f"{reverse('portal:sign-in')}?{urlencode({'next': back}, safe='/')}"


# The segments a browser removes from a path (RFC 3986 5.2.4), decoded ("%2e" is ".").
_DOT_SEGMENTS = {".", ".."}


def portal_path(url: str, request) -> str | None:
    """``url`` as one of the portal's addresses on this host (a path, with its query and
    fragment), or None: where a sign-in or a refusal may send the person back to, never to
    another site (an open redirect) nor out of the portal. A path with a ``.`` or ``..``
    segment (``%2e`` too) is none: the browser removes them before it follows it
    (``/portal/../admin/`` is /admin/)."""
    if not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    climbs = _DOT_SEGMENTS & set(unquote(parts.path).split("/"))
    if climbs or not parts.path.startswith("/portal/"):
        return None
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def _form_page(request) -> str:
    return portal_path(request.headers.get("Referer", ""), request) or reverse("portal:dashboard")


def vendor_page(
    view: Callable | None = None,
    *,
    power: TenantPower = VENDOR_MEMBER,
    writes: TenantPower | None = None,
):
    """Signed in to the portal (a member of an active vendor, or of a former one that keeps
    its payouts), past the TOTP gate, holding ``power`` (the API's permission of the same
    power: its roles in the tenant, ``roles_in``; by default any member of a vendor), and for
    a write (any method but a read) ``writes`` if given (a page that lists what a former
    vendor takes back, and adds to it for a vendor). Others get a 403 page that says why (a
    page's script, the upload form's, the same words as JSON: ``permission_denied`` for the
    role, ``not_a_vendor`` for one no longer at the vendor); each refusal is audited as
    ``permission_denied``, as the API's are. A write counts against the
    API's budgets per user and per tenant, and past either is refused with 429 and
    ``Retry-After``. Every answer is ``Cache-Control: no-store``, as the admin's pages: a
    vendor's page (sales, keys, its team) is not kept by the browser for Back after sign-out,
    nor by a proxy."""

    def decorate(func: Callable) -> Callable:
        @never_cache
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect(sign_in_url(request))
            membership = current_membership(request)
            read = request.method in _READ_METHODS
            needed = power if read or writes is None else writes
            roles = needed.roles_in(membership.tenant) if membership is not None else ()
            if not roles:
                return not_a_vendor(request, request.user)
            if needs_enrolment(membership, verified=request.user.is_verified()):
                if has_totp(request.user):
                    # A device was added after this sign-in: sign in again with its code.
                    logout(request)
                    return redirect(reverse("portal:sign-in"))
                return redirect(reverse("portal:enrol"))
            _seat(request, membership)
            if membership.role not in roles:
                allowed = [Role(r).label for r in roles]
                error = Forbidden(
                    f"This page is for {' and '.join(allowed)} members; you are "
                    f"{membership.get_role_display()}."
                )
                record_if_denied(request, error)
                context = {"roles": allowed, "role": membership.get_role_display()}
                return _refused(request, "portal/forbidden.html", context, error)
            # After the role check: a write refused for its role spends no budget (unlike
            # the API: docs/security.md).
            if not read and (refused := over_budget(request)):
                return refused
            return func(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def _seat_for_frame(request):
    """For a page answered before ``vendor_page`` ran (a 404 the URLs raise, a CSRF
    refusal): the member it would have found, so the header still shows the nav and the
    vendor signed in to. Returns the user."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated and hasattr(request, "session")
    if signed_in and getattr(request, "can", None) is None:
        membership = current_membership(request)
        if membership is not None and not needs_enrolment(
            membership, verified=request.user.is_verified()
        ):
            _seat(request, membership)
    return user


def csrf_failure_page(request, error: DomainError) -> HttpResponse:
    """The portal's answer to a form sent with a stale CSRF token (``CSRF_FAILURE_PAGES``): a
    page in its frame that says why and links back to the form's page to reload it, 403."""
    _seat_for_frame(request)
    return refusal_page_response(
        request, "portal/stale_form.html", {"back": _form_page(request)}, error
    )


def not_a_vendor(request, user) -> HttpResponse:
    """The 403 page for ``user``, who is no member of a vendor this page serves, at the
    sign-in and at every page's guard (to a page's script, ``not_a_vendor`` as JSON):
    audited as every refusal is (the page says it at more length than the audited detail),
    and staff are told their work is in the admin."""
    error = NotAVendor("Only members of an active vendor tenant can use the vendor portal.")
    record_if_denied(request, error, actor=user)
    return _refused(request, "portal/not_a_vendor.html", {"staff": user.is_staff}, error)


def refusal_page(request, error: DomainError) -> HttpResponse:
    """The portal's answer to a refusal outside a form (``settings.REFUSAL_PAGES``: a download's
    address with a malformed month, for one): a page in its frame with the refusal's code and
    detail, and its status. One answered before ``vendor_page`` ran (a ``%00`` in the address)
    still shows the nav and the vendor signed in to."""
    _seat_for_frame(request)
    return refusal_page_response(request, "portal/refused.html", {}, error)


def nothing_here(
    request, what: str, why: str = "", back: tuple[str, str] | None = None
) -> HttpResponse:
    """A 404 in the portal's frame for something the page looked for in the vendor's own data
    and did not find: "No {what}", ``why`` if there is a reason to give, and ``back`` (a URL
    name and its words) where "Back to the portal" is not the way back."""
    context = {"what": what, "why": why, "back": back}
    return render(request, "portal/not_found.html", context, status=404)


def not_found_page(request) -> HttpResponse:
    """The portal's 404 (``settings.NOT_FOUND_PAGES``), in its frame: the same page for an
    object that does not exist and for another vendor's (which the portal's queries never
    find), so it tells nothing of either. A 404 the URLs raise comes before ``vendor_page``
    ran: the member it would have found is looked up here, so the header still shows the nav
    and the vendor signed in to."""
    user = _seat_for_frame(request)
    tenant = getattr(request, "tenant", None) if getattr(request, "can", None) else None
    other_vendors = (
        tenant is not None and vendor_memberships(user).exclude(tenant_id=tenant.pk).exists()
    )
    return render(request, "portal/not_found.html", {"other_vendors": other_vendors}, status=404)
