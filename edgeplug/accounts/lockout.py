"""django-axes hooks: how it counts failures, finds the login name, and what a locked-out
caller sees. The policy is in docs/security.md."""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from edgeplug.accounts.models import normalize_email


class AccountAndAddressHandler(AxesDatabaseHandler):
    """Two limits: failures for one account from one address (AXES_FAILURE_LIMIT, keyed by
    AXES_LOCKOUT_PARAMETERS) and failures from one address over all accounts
    (LOGIN_ADDRESS_FAILURE_LIMIT, against password spraying).

    Neither lets someone elsewhere lock a user out: both are keyed by the caller's address.
    django-axes compares one number to one limit, so the address count is scaled to it.
    """

    def get_failures(self, request, credentials=None) -> int:
        per_account = super().get_failures(request, credentials)
        per_address = (
            AccessAttempt.objects.filter(
                ip_address=request.axes_ip_address,
                attempt_time__gte=get_cool_off_threshold(request),
            ).aggregate(total=Sum("failures_since_start"))["total"]
            or 0
        )
        limit = get_failure_limit(request, credentials)
        return max(per_account, per_address * limit // settings.LOGIN_ADDRESS_FAILURE_LIMIT)


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        "Too many failed sign-ins from your address: signing in to this account from here "
        f"is paused for up to {minutes} minutes."
    )


def username_from_credentials(request, credentials) -> str | None:
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username")
    if not name and request is not None:
        name = request.POST.get("username") or request.POST.get("email")
    return normalize_email(name) if name else None


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """JSON with a stable code for the API, a page for the admin's and the portal's forms."""
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    detail = lockout_message()
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "account_locked", "detail": detail}, status=403)
    else:
        # The vendor portal and the admin each show it in their own page frame.
        template = (
            "portal/locked.html" if request.path.startswith("/portal/") else "accounts/locked.html"
        )
        response = render(request, template, {"detail": detail}, status=403)
    response["Retry-After"] = str(cool_off)
    return response
