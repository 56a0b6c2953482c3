"""The admin site: django-otp's (every staff user presents a verified TOTP code), signing in
in one step within the sign-in budget the API and the portal share, and a staff user's own
password change and sign-out audited as the portal's are; its 403 page, in its frame.

A read-only page links each related object to its admin page, whether or not the reader may
open it (Django's ``AdminReadonlyField.get_admin_url`` asks no permission): a reviewer's run
page linked the requesting user, a finance member's price plan its tenant, each link a 403.
Here the page is rendered while its request is known (``admin_view``), and such a link is
made only where that request may view the object's page; elsewhere its name, as text. A list
URL's year, month or day no date holds, or a drill-down of a list's date hierarchy to the last
date, is left out on every page, said as a list's ignored filter (``drop_unreadable_dates``); so
is an empty ``_to_field``, silently (``drop_empty_to_field``)."""

from contextvars import ContextVar
from functools import partial, wraps

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django_otp.admin import OTPAdminSite

from edgeplug.accounts.admin_login import OneStepOTPAdminAuthenticationForm
from edgeplug.accounts.password_change import CurrentPasswordChangeForm
from edgeplug.accounts.sign_in_events import record_logout
from edgeplug.core.admin import drop_empty_to_field, drop_unreadable_dates
from edgeplug.core.error_views import refusal_page_response
from edgeplug.core.throttling import sign_in_throttled_message, sign_in_wait
from edgeplug.errors import Throttled

_rendering_for: ContextVar = ContextVar("admin_request", default=None)
_linked = helpers.AdminReadonlyField.get_admin_url


def _linked_if_viewable(field: helpers.AdminReadonlyField, remote_field, remote_obj):
    request = _rendering_for.get()
    related = field.model_admin.admin_site._registry.get(remote_field.model)
    if request is not None and (related is None or not related.has_view_permission(request)):
        return str(remote_obj)
    return _linked(field, remote_field, remote_obj)


helpers.AdminReadonlyField.get_admin_url = _linked_if_viewable


class AdminCurrentPasswordChangeForm(CurrentPasswordChangeForm, AdminPasswordChangeForm):
    """The admin's look (its required fields marked) on the checked form."""


class EdgePlugAdminSite(OTPAdminSite):
    login_form = OneStepOTPAdminAuthenticationForm
    # django-otp's login page, with the way to set up an authenticator for who has none.
    login_template = "admin/edgeplug_login.html"
    site_header = "EdgePlug administration"
    site_title = "EdgePlug admin"

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)
        # A model admin's page is its bound method (Django's ModelAdmin.get_urls).
        date_hierarchy = getattr(getattr(view, "__self__", None), "date_hierarchy", None)

        @wraps(inner)
        def rendered_for_its_reader(request, *args, **kwargs):
            drop_unreadable_dates(request, date_hierarchy)
            drop_empty_to_field(request)
            token = _rendering_for.set(request)
            try:
                response = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()  # here, while the request is known to its links
                return response
            finally:
                _rendering_for.reset(token)

        return rendered_for_its_reader

    def login(self, request, extra_context=None):
        if request.method == "POST" and (wait := sign_in_wait(request)) is not None:
            return self._throttled_login(request, wait)
        return super().login(request, extra_context)

    def _throttled_login(self, request, wait: int) -> HttpResponse:
        """The login page again, saying when to retry (429 with Retry-After), the attempt
        neither checked nor counted as a failure."""
        error = Throttled(sign_in_throttled_message(wait), retry_after=wait)
        form = self.login_form(request)  # unbound: what was typed is not read
        form.cleaned_data = {}
        form.add_error(None, error.detail)
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "form": form,
            REDIRECT_FIELD_NAME: request.GET.get(REDIRECT_FIELD_NAME, ""),
        }
        template = self.login_template or "admin/login.html"
        return refusal_page_response(request, template, context, error)

    def logout(self, request, extra_context=None):
        # Django's logout view signs out on POST only (a GET is refused with 405).
        if request.method == "POST" and request.user.is_authenticated:
            record_logout(request, request.user, method="session")
        return super().logout(request, extra_context)

    def password_change(self, request, extra_context=None):
        """Django's page, its current password checked as a sign-in's is (counted by the
        lockout), the change audited with it (the form's save, ``change_password``)."""
        view = PasswordChangeView.as_view(
            form_class=partial(AdminCurrentPasswordChangeForm, request=request),
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )
        request.current_app = self.name
        return view(request)


def permission_denied_page(request, detail: str) -> HttpResponse:
    """The admin's 403 (``settings.PERMISSION_DENIED_PAGES``), in its frame: why, when the
    refusal says it ("Finance pages are for the finance group."), and the way back to the
    admin's home page."""
    context = {**admin.site.each_context(request), "title": "Not allowed", "detail": detail}
    return render(request, "admin/forbidden.html", context, status=403)
