"""The admin site: django-otp's (every staff user presents a verified TOTP code), signing in
in one step, and a staff user's own password change audited as the portal's is."""

from django_otp.admin import OTPAdminSite

from edgeplug.accounts.admin_login import OneStepOTPAdminAuthenticationForm
from edgeplug.accounts.services import record_password_change


class EdgePlugAdminSite(OTPAdminSite):
    login_form = OneStepOTPAdminAuthenticationForm
    site_header = "EdgePlug administration"
    site_title = "EdgePlug admin"

    def password_change(self, request, extra_context=None):
        response = super().password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:  # saved
            record_password_change(request.user, request=request)
        return response
