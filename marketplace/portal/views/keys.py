"""Signing keys: the list with fingerprints, register (paste or upload), revoke (confirmed)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from edgeplug.errors import DomainError
from edgeplug.tenancy.scoping import for_request, get_for_request
from marketplace import services
from marketplace.models import VendorKey
from marketplace.portal.access import PUBLISHER_ROLES, vendor_page
from marketplace.portal.forms import KeyForm


@require_http_methods(["GET", "POST"])
@vendor_page(roles=PUBLISHER_ROLES)
def keys(request):
    form = KeyForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            key = services.register_key(
                request.tenant,
                form.cleaned_data["public_key"],
                name=form.cleaned_data["name"],
                actor=request.user,
                request=request,
            )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, f"Key {key.key_id} is registered.")
            return redirect("portal:keys")
    return render(
        request,
        "portal/keys.html",
        {
            "form": form,
            "error": error,
            "keys": for_request(VendorKey.objects.select_related("created_by"), request),
        },
        status=error.status if error else (400 if form.errors else 200),
    )


@require_http_methods(["GET", "POST"])
@vendor_page(roles=PUBLISHER_ROLES)
def revoke(request, key_id):
    key = get_for_request(VendorKey.objects.all(), request, key_id=key_id)
    if request.method == "POST":
        services.revoke_key(key, actor=request.user, request=request)
        messages.success(request, f"Key {key.key_id} is revoked; it can no longer sign uploads.")
        return redirect("portal:keys")
    return render(request, "portal/key_revoke.html", {"key": key})
