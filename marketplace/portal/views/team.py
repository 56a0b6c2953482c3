"""The team: members and their roles, managed by the tenant's admins through the tenancy
actions (the last admin cannot leave or lose the role), as at the API (``TENANT_ADMIN``):
a former vendor's admins too."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from edgeplug.tenancy import services as tenancy
from edgeplug.tenancy.models import Membership
from edgeplug.tenancy.permissions import TENANT_ADMIN
from edgeplug.tenancy.scoping import for_request
from marketplace.portal.access import MemberPages, end_session, nothing_here, vendor_page
from marketplace.portal.forms import MemberForm, RoleForm
from marketplace.portal.outcomes import (
    flash_form_errors,
    perform,
    perform_and_flash,
    render_form,
)


def _members(request):
    return for_request(Membership.objects.select_related("user"), request).order_by("user__email")


def _member(request, pk) -> Membership | None:
    return (
        for_request(Membership.objects.select_related("user", "tenant"), request)
        .filter(pk=pk)
        .first()
    )


def _member_gone(request) -> HttpResponse:
    """A member not on this team: removed meanwhile (the team page left open in another tab),
    or never on it. A 404 that says so and leads back to the team, the same for another
    vendor's member, so it tells nothing of them."""
    why = "They may have been removed in another tab or by another admin."
    return nothing_here(request, "such member", why, ("portal:team", "Back to the team"))


@require_http_methods(["GET", "POST"])
@vendor_page(power=TENANT_ADMIN)
def team(request):
    form = MemberForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        role = form.cleaned_data["role"]
        outcome = perform(
            request,
            tenancy.add_member_by_email,
            request.tenant,
            form.cleaned_data["email"],
            role,
            success=lambda membership: f"{membership.user.email} joined as {role}.",
        )
        if outcome.error is None:
            return redirect("portal:team")
        error = outcome.error
    return render_form(
        request, "portal/team.html", _members_context(request), form=form, error=error
    )


def _members_context(request, refused: RoleForm | None = None) -> dict:
    """The members, each with the form that changes their role: ``refused``, a role change
    the tenancy actions refused, as it was sent and with the refusal at its role."""
    members = list(_members(request))

    def role_form(member: Membership) -> RoleForm:
        if refused is not None and refused.prefix == f"m{member.pk}":
            return refused
        return RoleForm(initial={"role": member.role}, prefix=f"m{member.pk}")

    return {
        "members": [(m, role_form(m)) for m in members],
        # The last admin cannot leave (last_admin): no Remove link is offered for them.
        "sole_admin": tenancy.sole_admin(request.tenant.pk),
    }


@require_POST
@vendor_page(power=TENANT_ADMIN)
def change_role(request, pk):
    membership = _member(request, pk)
    if membership is None:
        return _member_gone(request)
    form = RoleForm(request.POST, prefix=f"m{membership.pk}")
    if form.is_valid():
        role = form.cleaned_data["role"]
        if role == membership.role:
            messages.info(request, f"{membership.user.email} is already {role}: nothing changed.")
            return redirect("portal:team")
        success = f"{membership.user.email} is now {role}."
        outcome = perform(request, tenancy.change_role, membership, role, success=success)
        if error := outcome.error:
            # The team page again, the refusal (last_admin) at the role as it was chosen.
            form.add_error("role", f"{error.code}: {error.detail}")
            context = {**_members_context(request, refused=form), "form": MemberForm()}
            return render(request, "portal/team.html", context, status=error.status)
        if membership.user_id == request.user.pk:
            # Their own role: the pages they may open are the new role's, which may no
            # longer include this one.
            pages = MemberPages(request.tenant, outcome.result.role)
            if not pages.team:
                return redirect(pages.home)
    else:
        flash_form_errors(request, form)
    return redirect("portal:team")


@require_http_methods(["GET", "POST"])
@vendor_page(power=TENANT_ADMIN)
def remove_member(request, pk):
    """Asks first (GET), then removes (POST): the member loses the tenant's pages and API at
    once."""
    membership = _member(request, pk)
    if membership is None:
        return _member_gone(request)
    if request.method == "GET":
        context = {
            "member": membership,
            "yourself": membership.user_id == request.user.pk,
            # Its removal would be refused (last_admin): the page says so instead of asking.
            "only_admin": tenancy.is_last_admin(membership),
        }
        return render(request, "portal/member_remove.html", context)
    success = f"{membership.user.email} left the team."
    outcome = perform_and_flash(request, tenancy.remove_member, membership, success=success)
    if outcome.error is None and membership.user_id == request.user.pk:
        # Their own membership: this session was for it, so it ends with it (as signing out
        # does) and the sign-in page shows the flash, rather than a 403 for a vendor left.
        end_session(request, membership.tenant)
        return redirect("portal:sign-in")
    return redirect("portal:team")
