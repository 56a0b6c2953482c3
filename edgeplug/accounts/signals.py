"""Audit events for sign-ins, failed sign-ins and lockouts, whichever door they came through."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from edgeplug.accounts.lockout import username_from_credentials
from edgeplug.accounts.sign_in_events import SIGN_IN_RECORDED, record_sign_in
from edgeplug.audit.services import record_event


@receiver(user_logged_in, dispatch_uid="audit_login")
def _audit_session_login(sender, request, user, **kwargs):
    """The admin's sign-in (staff, no tenant); the API and the portal record their own."""
    if request is not None and getattr(request, SIGN_IN_RECORDED, False):
        return
    # django-otp's login form leaves the device that verified the code on the user.
    mfa = getattr(user, "otp_device", None) is not None
    record_sign_in(request, user, method="session", mfa=mfa)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _audit_login_failed(sender, credentials, request=None, **kwargs):
    email = username_from_credentials(None, credentials) or ""
    record_event("login_failed", request=request, target=email, details={"email": email})


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def _audit_lockout(sender, request, username, ip_address, **kwargs):
    record_event(
        "account_locked",
        request=request,
        target=username or "",
        details={"email": username or "", "ip": ip_address},
    )
