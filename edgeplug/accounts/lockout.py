"""django-axes hooks: how it finds the login name, and what a locked-out caller sees."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render


def username_from_credentials(request, credentials) -> str | None:
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username")
    if not name and request is not None:
        name = request.POST.get("username") or request.POST.get("email")
    return name.strip().lower() if name else None


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """JSON with a stable code for the API, a page for the admin's and the portal's forms."""
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    detail = f"Too many failed sign-ins: this account is locked for up to {cool_off // 60} minutes."
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
