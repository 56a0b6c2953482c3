"""The team: members and their roles, managed by the vendor's admins through the tenancy
actions (the last admin cannot leave or lose the role)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from edgeplug.accounts.models import User
from edgeplug.errors import DomainError, NotFound
from edgeplug.tenancy import services as tenancy
from edgeplug.tenancy.models import Membership, Role
from edgeplug.tenancy.scoping import for_request, get_for_request
from marketplace.portal.access import vendor_page
from marketplace.portal.forms import MemberForm, RoleForm

ADMINS = (Role.ADMIN,)


def _members(request):
    return for_request(Membership.objects.select_related("user"), request).order_by("user__email")


@require_http_methods(["GET", "POST"])
@vendor_page(roles=ADMINS)
def team(request):
    form = MemberForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            user = User.objects.filter(email__iexact=form.cleaned_data["email"]).first()
            if user is None:
                raise NotFound(
                    "No EdgePlug account uses that email: ask them to create one first.",
                    code="unknown_user",
                )
            tenancy.add_member(
                request.tenant,
                user,
                form.cleaned_data["role"],
                actor=request.user,
                request=request,
            )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, f"{user.email} joined as {form.cleaned_data['role']}.")
            return redirect("portal:team")
    members = [
        (m, RoleForm(initial={"role": m.role}, prefix=f"m{m.pk}")) for m in _members(request)
    ]
    return render(
        request,
        "portal/team.html",
        {"form": form, "error": error, "members": members},
        status=error.status if error else (400 if form.errors else 200),
    )


@require_POST
@vendor_page(roles=ADMINS)
def change_role(request, pk):
    membership = get_for_request(
        Membership.objects.select_related("user", "tenant"), request, pk=pk
    )
    form = RoleForm(request.POST, prefix=f"m{membership.pk}")
    if form.is_valid():
        try:
            tenancy.change_role(
                membership, form.cleaned_data["role"], actor=request.user, request=request
            )
        except DomainError as exc:
            messages.error(request, f"{exc.code}: {exc.detail}")
        else:
            messages.success(
                request, f"{membership.user.email} is now {form.cleaned_data['role']}."
            )
    return redirect("portal:team")


@require_POST
@vendor_page(roles=ADMINS)
def remove_member(request, pk):
    membership = get_for_request(
        Membership.objects.select_related("user", "tenant"), request, pk=pk
    )
    try:
        tenancy.remove_member(membership, actor=request.user, request=request)
    except DomainError as exc:
        messages.error(request, f"{exc.code}: {exc.detail}")
    else:
        messages.success(request, f"{membership.user.email} left the team.")
    return redirect("portal:team")
