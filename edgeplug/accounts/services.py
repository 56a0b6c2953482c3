"""Sign-in and sign-out, lockout clearing, password changes, MFA enrolment and device removal:
the rules every door (API, admin, portal, CLI) goes through."""

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import segno
from axes.models import AccessAttempt
from django.contrib.auth import authenticate, login, user_logged_in, user_login_failed
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from edgeplug.accounts.errors import (
    DeviceNeedsCodeSignIn,
    EmailTaken,
    EnrolmentCodeInvalid,
    InactiveUser,
    InvalidCredentials,
    InvalidOtp,
    MfaAlreadyEnabled,
    NoEnrolmentPending,
    OtpRequired,
    OtpThrottled,
    TenantRequired,
    UnknownTenant,
)
from edgeplug.accounts.lockout import account_locked, lockout_name
from edgeplug.accounts.models import User
from edgeplug.accounts.sign_in_events import SIGN_IN_RECORDED, record_logout, record_sign_in
from edgeplug.audit.models import AuditEvent
from edgeplug.audit.services import field_changes, record_event
from edgeplug.core.locking import unique_or
from edgeplug.errors import DomainError, retry_seconds
from edgeplug.slugs import slug_as_typed
from edgeplug.tenancy.models import Membership, Tenant


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    tenant: str | None
    role: str | None


def _http_request(request):
    return getattr(request, "_request", request)


def _authenticate_password(request, email: str, password: str) -> User:
    http_request = _http_request(request)
    user = authenticate(http_request, email=email, password=password)
    # django-axes refuses locked accounts by raising PermissionDenied inside authenticate(),
    # which Django turns into None; the flag it leaves on the request tells the two apart.
    if getattr(http_request, "axes_locked_out", False):
        raise account_locked()
    if user is not None:
        return user
    candidate = User.objects.with_email(email).first()
    # Only reveal that an account is inactive to someone who knows its password.
    if candidate is not None and not candidate.is_active and candidate.check_password(password):
        raise InactiveUser("This account is deactivated.")
    raise InvalidCredentials("Email or password is wrong.")


def check_current_password(request, user: User, password: str) -> None:
    """The current password a signed-in user types to change it (the portal's and the admin's
    password pages), checked as a sign-in's password is: a wrong one is a failed sign-in,
    audited as ``login_failed`` and counted by django-axes, and a locked account is refused
    (``account_locked``) even the right one. ``invalid_credentials`` when it is wrong."""
    _authenticate_password(request, user.email, password)


def _otp_wait_seconds(devices) -> int:
    """0 if one of the devices may verify a code now, else the seconds until one may."""
    waits = []
    for device in devices:
        allowed, info = device.verify_is_allowed()
        if allowed:
            return 0
        locked_until = (info or {}).get("locked_until")
        waits.append((locked_until - timezone.now()).total_seconds() if locked_until else 1)
    return retry_seconds(min(waits))


def _check_otp(request, user: User, otp: str | None) -> TOTPDevice | None:
    """The device that verified the second factor; None for a user without a TOTP device."""
    devices = list(devices_for_user(user, confirmed=True))
    if not devices:
        return None
    if not otp:
        raise OtpRequired("This account has MFA enabled: send the current TOTP code as `otp`.")
    # Throttled devices refuse every code, the right one too: say so instead of "wrong code".
    wait = _otp_wait_seconds(devices)
    if wait:
        raise OtpThrottled(retry_after=wait)
    device = match_token(user, otp)
    if device is None:
        wrong_second_factor(request, user)
        raise InvalidOtp("The TOTP code is wrong or expired.")
    return device


def wrong_second_factor(request, user: User) -> None:
    """A wrong TOTP code after the right password, at any door (the API, the portal, the
    admin's login form): a failed sign-in, audited as ``login_failed`` and counted by
    django-axes, so TOTP guessing runs into the same lockout as password guessing."""
    user_login_failed.send(
        sender=__name__, credentials={"email": user.email}, request=_http_request(request)
    )


def choose_membership(
    memberships: QuerySet[Membership],
    slug: str | None,
    *,
    noun: str = "tenant",
    how: str = "with `tenant`",
    unknown: type[DomainError] = UnknownTenant,
) -> Membership | None:
    """The membership a sign-in names, or the only one; several need a name. A tenant is
    named by its short name (slug) in any case, or by its name as the pages show it ("Acme
    Robotics", any case) where only one of the user's tenants has it.

    The API (``tenant``) and the portal (its vendor field) word the refusals for their forms."""
    if slug and (typed := slug.strip()):
        membership = memberships.filter(tenant__slug=slug_as_typed(typed)).first()
        if membership is not None:
            return membership
        named = list(memberships.filter(tenant__name__iexact=typed).select_related("tenant"))
        if len(named) == 1:
            return named[0]
        if named:
            shorts = ", ".join(sorted(m.tenant.slug for m in named))
            raise TenantRequired(
                f"Several of your {noun}s are called {typed!r}: give its short name ({shorts})."
            )
        raise unknown(f"You are not a member of a {noun} called {typed!r}.")
    found = list(memberships.select_related("tenant").order_by("tenant__slug"))
    if len(found) > 1:
        # The user's password is checked: the list tells them nothing of anyone else's.
        yours = ", ".join(f"{m.tenant.slug} ({m.tenant.name})" for m in found)
        raise TenantRequired(f"You belong to several {noun}s: say which one {how}: {yours}.")
    return found[0] if found else None


def issue_token_pair(user: User, membership: Membership | None, *, device=None) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    # Whether this sign-in passed a second factor, and with which device: platform staff
    # powers need it, and count while that device is confirmed (second_factor_verified).
    refresh["mfa"] = device is not None
    refresh["mfa_device"] = device.persistent_id if device is not None else None
    refresh["tenant_id"] = membership.tenant_id if membership else None
    refresh["tenant"] = membership.tenant.slug if membership else None
    refresh["role"] = membership.role if membership else None
    return TokenPair(
        access=str(refresh.access_token),
        refresh=str(refresh),
        tenant=refresh["tenant"],
        role=refresh["role"],
    )


@dataclass(frozen=True)
class VerifiedSignIn:
    user: User
    # The TOTP device that verified the code (a session door marks itself verified with it).
    device: TOTPDevice | None

    @property
    def mfa(self) -> bool:
        return self.device is not None


def verify_sign_in(request, *, email: str, password: str, otp: str | None = None) -> VerifiedSignIn:
    """Password, lockout and TOTP, the checks every sign-in door makes (API tokens, portal
    session); ``mfa`` says whether a second factor was verified."""
    user = _authenticate_password(request, email, password)
    return VerifiedSignIn(user=user, device=_check_otp(request, user, otp))


def sign_in(
    request, *, email: str, password: str, tenant_slug: str | None = None, otp: str | None = None
) -> TokenPair:
    """Check password, lockout, OTP and tenant; return a JWT pair carrying tenant and role."""
    verified = verify_sign_in(request, email=email, password=password, otp=otp)
    user, mfa = verified.user, verified.mfa
    memberships = Membership.objects.live().select_related("tenant").filter(user=user)
    membership = choose_membership(memberships, tenant_slug)
    pair = issue_token_pair(user, membership, device=verified.device)
    http_request = _http_request(request)
    setattr(http_request, SIGN_IN_RECORDED, True)
    # Lets django-axes reset the failure count and Django update last_login.
    user_logged_in.send(sender=User, request=http_request, user=user)
    record_sign_in(request, user, membership=membership, method="jwt", mfa=mfa)
    return pair


# Sessions authenticate with the model backend alone (django-axes' backend only checks).
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def start_session(request, verified: VerifiedSignIn, membership: Membership) -> None:
    """Sign a verified user in to a browser session for ``membership`` (the portal): Django's
    login, OTP-verified when a code was, audited as ``sign_in`` audits a token sign-in."""
    setattr(request, SIGN_IN_RECORDED, True)
    login(request, verified.user, backend=SESSION_BACKEND)
    if verified.device is not None:
        otp_login(request, verified.device)
    record_sign_in(
        request, verified.user, membership=membership, method="session", mfa=verified.mfa
    )


@contextmanager
def refresh_token_held(token: RefreshToken) -> Iterator[None]:
    """A transaction holding ``token``'s outstanding row locked, entered only if the token is
    not blacklisted by then (TokenError otherwise): of several requests presenting one refresh
    token at once (a replay, a refresh racing the sign-out), one rotates or revokes it and the
    others are refused as a reuse one after the other is. simplejwt's ``blacklist()`` is a
    get_or_create, which every request racing the first passed."""
    with transaction.atomic():
        jti = token[api_settings.JTI_CLAIM]
        held = OutstandingToken.objects.select_for_update().filter(jti=jti)
        list(held.order_by().values_list("pk"))  # its Meta ordering joins the nullable user
        token.check_blacklist()
        yield


def revoke_refresh_token(request, token: RefreshToken) -> None:
    """Sign out a token pair (the API's and the CLI's logout): blacklist its refresh token,
    audited against the token's user and tenant as a session's sign-out is, in one
    transaction: a sign-out whose event cannot be written leaves the token live. TokenError
    when it was rotated or signed out meanwhile (``refresh_token_held``)."""
    with refresh_token_held(token):
        token.blacklist()
        user = User.objects.filter(pk=token.get(api_settings.USER_ID_CLAIM)).first()
        tenant_id = token.get("tenant_id")
        tenant = Tenant.objects.filter(pk=tenant_id).first() if tenant_id is not None else None
        details = {"jti": token.get("jti")}
        record_logout(request, user, tenant=tenant, method="jwt", details=details)


@transaction.atomic
def unlock_account(
    email: str, *, addresses: Collection[str | None] | None, actor=None, request=None
) -> AuditEvent | None:
    """Clear an account's sign-in lockout early (support: someone mistyped their password
    too often): forget the failed sign-ins django-axes counts for it from ``addresses`` (those
    of the rows staff chose; None: from everywhere), so it signs in again from there at once;
    its lock elsewhere (a guesser's address) stays. Audited as ``account_unlocked`` against
    the account, with how many were forgotten and from which addresses; nothing is recorded
    when there was nothing to forget. Counts older than the lockout period are forgotten
    anyway (docs/security.md). The admin's *Clear lock* and ``manage.py unlock_account``."""
    if not email:
        raise ValueError("unlock_account needs the account's email")
    email = lockout_name(email)
    rows = AccessAttempt.objects.filter(username=email)
    if addresses is not None:
        chosen = Q(ip_address__in=[address for address in addresses if address])
        if None in addresses:  # a row axes stored without an address
            chosen |= Q(ip_address__isnull=True)
        rows = rows.filter(chosen)
    # Read under lock: a failure added to one of these rows meanwhile waits for the delete.
    attempts = list(
        rows.select_for_update().values_list("pk", "ip_address", "failures_since_start")
    )
    if not attempts:
        return None
    AccessAttempt.objects.filter(pk__in=[pk for pk, _, _ in attempts]).delete()
    return record_event(
        "account_unlocked",
        request=request,
        actor=actor,
        target=email,
        details={
            "email": email,
            "failures": sum(failures for _, _, failures in attempts),
            "addresses": sorted({ip for _, ip, _ in attempts if ip}),
        },
    )


@dataclass(frozen=True)
class TotpEnrolment:
    device_id: int
    otpauth_url: str
    qr_svg: str


def _enrolment(device: TOTPDevice) -> TotpEnrolment:
    url = device.config_url
    qr_svg = segno.make(url, error="m").svg_inline(scale=4)
    return TotpEnrolment(device_id=device.pk, otpauth_url=url, qr_svg=qr_svg)


def _pending_devices(user: User):
    """Unconfirmed devices, the newest first: the first is the one a code confirms."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id")


def _refuse_another_device_without_code(user: User, *, code_verified: bool) -> None:
    """Once TOTP is on, only a sign-in made with a code may add a device: one made with the
    password alone before the first device was confirmed is still a valid sign-in (its tokens
    refresh), and whoever holds it may be someone who had only the password."""
    if not code_verified and TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise DeviceNeedsCodeSignIn(
            "TOTP is on for this account and this sign-in was made without a code: sign in "
            "with your current code to add a device."
        )


@transaction.atomic
def start_totp_enrolment(
    user: User, *, code_verified: bool, name: str = "authenticator", request=None
) -> TotpEnrolment:
    """A new unconfirmed TOTP device (replacing earlier unconfirmed ones) and its QR code.
    ``code_verified``: the caller's sign-in passed TOTP with a device the user still has
    (``tenancy.permissions.second_factor_verified``); without it an account with a confirmed
    device is refused (``mfa_required``) and nothing changes. ``request``: the door's (the
    API's, the portal's enrolment page), so ``mfa_enrolment_started`` has its address and the
    tenant it was made for (``request.tenant``, as the member's ``login`` has it) and shows in
    that tenant's audit trail; None for an operator's command (``seed_demo``)."""
    _refuse_another_device_without_code(user, code_verified=code_verified)
    _pending_devices(user).delete()
    device = TOTPDevice.objects.create(user=user, name=name, confirmed=False)
    record_event("mfa_enrolment_started", request=request, actor=user, target=user.email)
    return _enrolment(device)


def pending_totp_enrolment(user: User, device_id: int | None) -> TotpEnrolment | None:
    """The enrolment that started device ``device_id``, while it is the one
    ``confirm_totp_enrolment`` would confirm (not confirmed, not replaced); None otherwise.
    Reads only: showing an enrolment again must not replace it (a page load, a second tab).
    A page shows only the enrolment it started itself: one started at another door (the
    API) may have been started by someone holding only the password, who knows its key."""
    device = _pending_devices(user).first()
    if device is None or device.pk != device_id:
        return None
    return _enrolment(device)


@transaction.atomic
def confirm_totp_enrolment(
    user: User, otp: str, *, code_verified: bool, device_id: int | None = None, request=None
) -> TOTPDevice:
    """Confirm the user's pending enrolment with a code of it; with ``device_id``, only if
    that is the pending one (a page confirms only the enrolment it started). Another device
    needs a sign-in with a code (``code_verified``), as starting one does. ``request``: as
    ``start_totp_enrolment``'s, for ``mfa_enrolled``."""
    device = _pending_devices(user).select_for_update().first()
    if device is None or device_id not in (None, device.pk):
        confirmed = TOTPDevice.objects.filter(user=user, confirmed=True)
        if confirmed.filter(**({} if device_id is None else {"pk": device_id})).exists():
            raise MfaAlreadyEnabled(
                "This enrolment is confirmed already: TOTP is on for your account."
            )
        raise NoEnrolmentPending("There is no TOTP enrolment to confirm: start one first.")
    _refuse_another_device_without_code(user, code_verified=code_verified)
    if not device.verify_token(otp):
        raise EnrolmentCodeInvalid("The TOTP code is wrong or expired.")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record_event("mfa_enrolled", request=request, actor=user, target=user.email)
    return device


@transaction.atomic
def remove_totp_device(device: TOTPDevice, *, actor=None, request=None) -> None:
    """Delete a user's TOTP device (support: a staff member lost their phone), audited as
    ``mfa_device_removed`` against the device's user. Without a confirmed device left they
    sign in with their password alone and enrol a new one (``start_totp_enrolment``); staff
    powers stay off until they do."""
    user = device.user
    name, confirmed = device.name, device.confirmed
    device.delete()
    record_event(
        "mfa_device_removed",
        request=request,
        actor=actor,
        target=user.email,
        details={
            "device": name,
            "confirmed": confirmed,
            "remaining": TOTPDevice.objects.filter(user=user, confirmed=True).count(),
        },
    )


# What user_changed compares: the account's sign-in and powers. The password has its own event
# (password_changed) and is never compared or copied.
AUDITED_USER_FIELDS = ("email", "full_name", "is_active", "is_staff", "is_superuser")


def user_access(user: User) -> dict[str, Any]:
    """The user's audited fields as stored now, their groups by name and their own
    permissions as ``app_label.codename`` (sorted): read before a change, compared after it
    by ``record_user_change``."""
    stored = User.objects.filter(pk=user.pk).values(*AUDITED_USER_FIELDS).get()
    stored["groups"] = sorted(Group.objects.filter(user=user.pk).values_list("name", flat=True))
    permissions = Permission.objects.filter(user=user.pk)
    stored["user_permissions"] = sorted(
        f"{app_label}.{codename}"
        for app_label, codename in permissions.values_list("content_type__app_label", "codename")
    )
    return stored


def record_user_created(user: User, *, request=None) -> AuditEvent:
    """Audit a user made by staff (``user_created``), on the admin's add page or with
    ``manage.py adduser``: the account's audited fields, groups and permissions as made
    (``details.access``, as ``user_access`` reads them; never the password); the actor is who
    was signed in (none for the command)."""
    access = user_access(user)
    return record_event(
        "user_created", request=request, target=access["email"], details={"access": access}
    )


def record_user_change(user: User, before: dict[str, Any], *, request) -> AuditEvent | None:
    """Audit a change to a user's account or powers in the admin (``user_changed``): each
    field that differs from ``before`` (``user_access`` read before the change, the groups
    too, which the admin saves after the user) with its ``from`` and ``to``; the actor is who
    was signed in. Nothing is recorded when nothing differs."""
    after = user_access(user)
    fields = field_changes(before, after)
    if not fields:
        return None
    return record_event(
        "user_changed", request=request, target=after["email"], details={"fields": fields}
    )


@transaction.atomic
def create_user(
    email: str, *, password: str, full_name: str = "", staff_groups: tuple[str, ...] = ()
) -> User:
    """A user made by an operator's command (``manage.py adduser``, ``seed_demo``): staff when
    given ``staff_groups`` (each a ``StaffGroup``), audited as ``user_created`` as the admin's
    add page is (``record_user_created``, no actor). ``email_taken`` when an account uses the
    email, or one made at the same time stored it first."""
    with unique_or(EmailTaken(f"A user with email {email} exists.")):
        user = User.objects.create_user(
            email=email, password=password, full_name=full_name, is_staff=bool(staff_groups)
        )
    for group in staff_groups:
        user.groups.add(Group.objects.get(name=group))
    record_user_created(user)
    return user


@transaction.atomic
def change_password(user: User, password: str | None, *, request=None) -> AuditEvent:
    """Give ``user`` a new password (None: none, password sign-in disabled, as the admin may
    choose) and audit it as ``password_changed``, in one transaction: a change whose event
    cannot be written is not kept (its page answers 500, the old password still signs in).
    ``request``: the page's, the member's own change in the portal or the admin or a staff
    user's of another user's in the admin; its signed-in user is the actor and ``details.own``
    says whose it was. None for an operator's command (``seed_demo``'s fresh demo passwords):
    no actor, not their own."""
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    own = request is not None and user.pk == request.user.pk
    return record_event(
        "password_changed", request=request, target=user.email, details={"own": own}
    )
