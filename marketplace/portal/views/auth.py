"""Sign-in (email, password and TOTP in one step), TOTP enrolment, sign-out, password change."""

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from edgeplug.accounts.errors import OtpRequired
from edgeplug.accounts.password_change import CurrentPasswordChangeForm
from edgeplug.accounts.services import (
    choose_membership,
    confirm_totp_enrolment,
    pending_totp_enrolment,
    start_session,
    start_totp_enrolment,
    verify_sign_in,
)
from edgeplug.core.throttling import sign_in_throttled_message, sign_in_wait
from edgeplug.errors import DomainError, Throttled
from edgeplug.tenancy.permissions import MEMBER, second_factor_verified
from marketplace.portal.access import (
    SESSION_TENANT,
    MemberPages,
    count_enrolment,
    current_membership,
    end_session,
    has_totp,
    needs_enrolment,
    not_a_vendor,
    portal_path,
    vendor_memberships,
    vendor_page,
)
from marketplace.portal.forms import SignInForm, TotpConfirmForm
from marketplace.portal.outcomes import render_form

# The shared sign-in's refusals speak to API clients (field names); the page says these in
# its own words, with the same code and status.
_PAGE_WORDING = {
    OtpRequired: "Enter the current code from your authenticator app.",
}


def _in_page_words(error: DomainError) -> DomainError:
    detail = _PAGE_WORDING.get(type(error))
    return type(error)(detail) if detail else error


def _back_to(request, target: str | None = None) -> str | None:
    """The portal page to go back to, ``target`` (by default the request's ``next``), or
    None: a path, as the portal's own links give it (a whole URL is not taken), that
    ``portal_path`` allows."""
    if target is None:
        target = request.POST.get("next") or request.GET.get("next") or ""
    return portal_path(target, request) if target.startswith("/portal/") else None


def _next_url(request, home: str = "portal:dashboard") -> str:
    return _back_to(request) or reverse(home)


def _home(membership) -> str:
    """Where a sign-in lands (``MemberPages.home``): the dashboard, or, for a former vendor
    that keeps its payouts (its other pages are a vendor's), its sales."""
    return MemberPages(membership.tenant, membership.role).home


def _choose_vendor(user, slug: str):
    return choose_membership(
        vendor_memberships(user), slug, noun="vendor", how="under Vendor account"
    )


@require_http_methods(["GET", "POST"])
def sign_in(request):
    form = SignInForm(request.POST or None)
    error = None
    # The API's sign-in budget per client address, shared with the token endpoint.
    if request.method == "POST" and (wait := sign_in_wait(request)) is not None:
        error = Throttled(sign_in_throttled_message(wait), retry_after=wait)
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            verified = verify_sign_in(
                request, email=data["email"], password=data["password"], otp=data["otp"] or None
            )
            membership = _choose_vendor(verified.user, data["vendor"])
        except DomainError as exc:
            error = _in_page_words(exc)
        else:
            # Staff enrol here too, whether or not they belong to a vendor: the admin asks
            # every staff user for a code, and has no page to set up the app that makes it.
            staff_enrols = verified.user.is_staff and not has_totp(verified.user)
            if membership is None and not staff_enrols:
                return not_a_vendor(request, verified.user)
            start_session(request, verified, membership)
            if membership is not None:
                request.session[SESSION_TENANT] = membership.tenant_id
            if staff_enrols or needs_enrolment(membership, verified=verified.mfa):
                # The page the sign-in was for, once enrolled (``_after_enrolment``).
                request.session[SESSION_AFTER_ENROLMENT] = _back_to(request) or ""
                return redirect("portal:enrol")
            return redirect(_next_url(request, _home(membership)))
    # A throttled answer (the address's, or a TOTP device's) has its Retry-After.
    context = {"next": _next_url(request)}
    return render_form(request, "portal/sign_in.html", context, form=form, error=error)


# The device of the enrolment this session started on the enrolment page.
SESSION_ENROLMENT = "portal_enrolment_device"
# Where a sign-in sent to enrolment goes once it is confirmed: its ``next``, or the home.
SESSION_AFTER_ENROLMENT = "portal_after_enrolment"


@never_cache  # the page shows the authenticator's secret (its QR code and key)
@require_http_methods(["GET", "POST"])
def enrol(request):
    """A vendor admin (or a staff user) without a TOTP device enrols one before anything else:
    starts an enrolment (the API's ``POST /api/v1/auth/mfa/totp``, by a button), scans its QR
    code and confirms a code. Showing the page writes nothing: it shows the enrolment this session
    started (``SESSION_ENROLMENT``) while it is pending, so a reload or a second tab never
    replaces the code being scanned. One started elsewhere (the API) is neither shown nor
    confirmed here (its key may be someone else's, who had only the password): Start replaces
    it. A session signed in without a code before the account had a device is refused
    (``mfa_required``) once it has one."""
    if not request.user.is_authenticated:
        return redirect("portal:sign-in")
    if has_totp(request.user) and request.user.is_verified():
        return redirect(_after_enrolment(request))
    if request.method == "POST" and (refused := count_enrolment(request)):
        return refused
    started = request.session.get(SESSION_ENROLMENT)
    form = TotpConfirmForm(None if "start" in request.POST else request.POST or None)
    error = None
    # A session signed in with the password alone, before its account had a device, adds none.
    code_verified = second_factor_verified(request)
    if request.method == "POST" and "start" in request.POST:
        try:
            enrolment = start_totp_enrolment(
                request.user, code_verified=code_verified, request=request
            )
        except DomainError as exc:
            error = exc
        else:
            request.session[SESSION_ENROLMENT] = enrolment.device_id
            return redirect("portal:enrol")
    elif request.method == "POST" and form.is_valid():
        try:
            device = confirm_totp_enrolment(
                request.user,
                form.cleaned_data["otp"],
                code_verified=code_verified,
                device_id=started or 0,
                request=request,
            )
        except DomainError as exc:
            error = exc
        else:
            otp_login(request, device)
            messages.success(request, "Your authenticator is enrolled; sign-ins now ask for it.")
            return redirect(_after_enrolment(request))
    context = {"enrolment": pending_totp_enrolment(request.user, started)}
    return render_form(request, "portal/enrol.html", context, form=form, error=error)


def _after_enrolment(request) -> str:
    """A staff user goes on to the admin (which sent them here, and now takes the code); a
    vendor's member, to the page their sign-in was for (its ``next``, kept in the session
    through enrolment and checked again), else to their home (``MemberPages.home``)."""
    back = request.session.pop(SESSION_AFTER_ENROLMENT, "")
    if request.user.is_staff:
        return reverse("admin:index")
    if path := _back_to(request, back):
        return path
    membership = current_membership(request)
    return reverse(_home(membership) if membership else "portal:dashboard")


@require_POST
def sign_out(request):
    if request.user.is_authenticated:
        membership = current_membership(request)
        end_session(request, membership.tenant if membership else None)
    else:
        logout(request)
    messages.info(request, "You are signed out.")
    return redirect("portal:sign-in")


@vendor_page(power=MEMBER)  # a former vendor's members too: an account's, not a vendor's
@require_http_methods(["GET", "POST"])
def password_change(request):
    form = CurrentPasswordChangeForm(request.user, request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        user = form.save()  # with its audit event, or neither (change_password)
        update_session_auth_hash(request, user)
        messages.success(request, "Your password is changed.")
        return redirect(request.can.home)
    return render_form(request, "portal/password_change.html", {}, form=form, error=None)
