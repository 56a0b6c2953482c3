"""The admin login form: django-otp's, telling a throttled TOTP device as the API does."""

from django_otp.admin import OTPAdminAuthenticationForm

from edgeplug.accounts.errors import OTP_THROTTLED_MESSAGE


class AdminLoginForm(OTPAdminAuthenticationForm):
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "n_failed_attempts": OTP_THROTTLED_MESSAGE,
    }
