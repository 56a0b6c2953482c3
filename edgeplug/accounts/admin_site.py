"""The admin site: django-otp's (every staff user presents a verified TOTP code), signing in
in one step within the sign-in budget the API and the portal share, and a staff user's own
password change and sign-out audited as the portal's are."""

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.template.response import TemplateResponse
from django_otp.admin import OTPAdminSite

from edgeplug.accounts.admin_login import OneStepOTPAdminAuthenticationForm
from edgeplug.accounts.services import record_password_change
from edgeplug.accounts.sign_in_events import record_logout
from edgeplug.core.throttling import sign_in_throttled_message, sign_in_wait


class EdgePlugAdminSite(OTPAdminSite):
    login_form = OneStepOTPAdminAuthenticationForm
    # django-otp's login page, with the way to set up an authenticator for who has none.
    login_template = "admin/edgeplug_login.html"
    site_header = "EdgePlug administration"
    site_title = "EdgePlug admin"

    def login(self, request, extra_context=None):
        if request.method == "POST" and (wait := sign_in_wait(request)) is not None:
            return self._throttled_login(request, wait)
        return super().login(request, extra_context)

    def _throttled_login(self, request, wait: int) -> TemplateResponse:
        """The login page again, saying when to retry (429 with Retry-After), the attempt
        neither checked nor counted as a failure."""
        form = self.login_form(request)  # unbound: what was typed is not read
        form.cleaned_data = {}
        form.add_error(None, sign_in_throttled_message(wait))
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "form": form,
            REDIRECT_FIELD_NAME: request.GET.get(REDIRECT_FIELD_NAME, ""),
        }
        response = TemplateResponse(
            request, self.login_template or "admin/login.html", context, status=429
        )
        response["Retry-After"] = str(wait)
        return response

    def logout(self, request, extra_context=None):
        # Django's logout view signs out on POST only (a GET is refused with 405).
        if request.method == "POST" and request.user.is_authenticated:
            record_logout(request, request.user, method="session")
        return super().logout(request, extra_context)

    def password_change(self, request, extra_context=None):
        response = super().password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:  # saved
            record_password_change(request.user, request=request)
        return response
