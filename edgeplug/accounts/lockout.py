"""django-axes hooks: how it counts failures, finds the login name, and what a locked-out
caller sees. The policy is in docs/security.md."""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.db.models import Sum
from django.http import HttpResponse

from edgeplug.accounts.errors import AccountLocked
from edgeplug.accounts.models import User, normalize_email
from edgeplug.core.error_views import error_response, is_api, refusal_page_response


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


def account_locked() -> AccountLocked:
    """The refusal of a locked account, at every door (the API's sign-in, the portal's and the
    admin's forms)."""
    cool_off = settings.AXES_COOLOFF_TIME.total_seconds()
    return AccountLocked(
        "Too many failed sign-ins from your address: signing in to this account from here "
        f"is paused for up to {int(cool_off // 60)} minutes.",
        retry_after=cool_off,
    )


def username_from_credentials(request, credentials) -> str | None:
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username")
    if not name and request is not None:
        name = request.POST.get("username") or request.POST.get("email")
    if not name:
        return None
    return lockout_name(name)


def lockout_name(name: str) -> str:
    """``name`` as the lockout records it (a sign-in's, and ``unlock_account``'s to find it):
    django-axes and the audit log keep it in columns that hold an address as long as an
    account's can be, so a longer one (typed so, or grown by normalize_email) is no account's,
    and counts as its first characters."""
    return normalize_email(name)[: User._meta.get_field("email").max_length]


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """JSON with a stable code for the API, a page for the admin's and the portal's forms."""
    error = account_locked()
    if is_api(request):
        return error_response(error)
    # The vendor portal and the admin each show it in their own page frame.
    if request.path.startswith("/portal/"):
        template, context = "portal/locked.html", {}
    else:  # the admin's sign-in: its header and title, as its login page has them
        template = "accounts/locked.html"
        context = {**admin.site.each_context(request), "title": "Account locked"}
    return refusal_page_response(request, template, context, error)
