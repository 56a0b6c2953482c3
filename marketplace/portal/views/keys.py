"""Signing keys: the list with fingerprints, register (paste or upload), revoke (confirmed)."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from edgeplug.tenancy.scoping import for_request, get_for_request
from marketplace import services
from marketplace.errors import PrivateKeyGiven
from marketplace.models import VendorKey
from marketplace.portal.access import vendor_page
from marketplace.portal.forms import KeyForm
from marketplace.portal.outcomes import perform, perform_and_flash, render_form
from marketplace.powers import PUBLISH, TAKE_BACK


def _named(key: VendorKey) -> str:
    """A key as a flash names it: by the name it was given, if one, and its id."""
    return f"“{key.name}” ({key.key_id})" if key.name else key.key_id


@require_http_methods(["GET", "POST"])
@vendor_page(power=TAKE_BACK, writes=PUBLISH)
def keys(request):
    # Bound on every POST, an empty one too: it then reaches register_key (public_key_required).
    form = KeyForm(request.POST, request.FILES) if request.method == "POST" else KeyForm()
    error = None
    if form.is_bound and form.is_valid():
        outcome = perform(
            request,
            services.register_key,
            request.tenant,
            form.cleaned_data["public_key"],
            name=form.cleaned_data["name"],
            success=lambda key: f"Key {_named(key)} is registered.",
        )
        if outcome.error is None:
            return redirect("portal:keys")
        error = outcome.error
        if isinstance(error, PrivateKeyGiven):
            form.forget_public_key()
    keys = for_request(VendorKey.objects.select_related("created_by"), request)
    return render_form(request, "portal/keys.html", {"keys": keys}, form=form, error=error)


@require_http_methods(["GET", "POST"])
@vendor_page(power=TAKE_BACK)
def revoke(request, key_id):
    key = get_for_request(VendorKey.objects.all(), request, key_id=key_id)
    if request.method == "POST":
        success = f"Key {_named(key)} is revoked; it can no longer sign uploads."
        perform_and_flash(request, services.revoke_key, key, success=success)
        return redirect("portal:keys")
    return render(request, "portal/key_revoke.html", {"key": key})
