"""The admin's sign-in form: email, password and TOTP code in one submit.

django-otp's admin form refuses a token until the user picks a device from a second form
("Please select a device"). A user with exactly one confirmed device has nothing to pick, so
that device is used; with several, the form still asks which one. A throttled device is told
as the API tells it (``otp_throttled``), not as a wrong code; a wrong code is a failed sign-in,
as at the API (``accounts.services.wrong_second_factor``).
"""

from django import forms
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm

from edgeplug.accounts.errors import OTP_THROTTLED_MESSAGE
from edgeplug.accounts.services import wrong_second_factor
from edgeplug.accounts.widgets import OneTimeCodeInput


def _only_device(user, *, for_verify: bool = False):
    devices = list(devices_for_user(user, confirmed=True, for_verify=for_verify))
    return devices[0] if len(devices) == 1 else None


class OneStepOTPAdminAuthenticationForm(OTPAdminAuthenticationForm):
    otp_token = forms.CharField(required=False, widget=OneTimeCodeInput())
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "n_failed_attempts": OTP_THROTTLED_MESSAGE,
    }

    def _verify_token(self, user, token, device=None):
        try:
            return super()._verify_token(user, token, device)
        except forms.ValidationError as error:
            if error.code == "invalid_token":
                wrong_second_factor(self.request, user)
            raise

    def _chosen_device(self, user):
        chosen = super()._chosen_device(user)
        if chosen is None and not self.cleaned_data.get("otp_device"):
            return _only_device(user, for_verify=True)
        return chosen

    def _update_form(self, user):
        super()._update_form(user)
        device = _only_device(user)
        if device is not None and "otp_device" in self.fields:
            # Nothing to choose: the form shows the one device, already selected.
            self.fields["otp_device"].widget.choices = [(device.persistent_id, device.name)]
