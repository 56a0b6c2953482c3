"""The form of a signed-in user's own password change (the portal's and the admin's page):
Django's, its current password checked as a sign-in's is (``check_current_password``), the
new one saved with its audit event (``change_password``)."""

from django import forms
from django.contrib.auth.forms import PasswordChangeForm

from edgeplug.accounts.errors import InvalidCredentials
from edgeplug.accounts.models import User
from edgeplug.accounts.services import change_password, check_current_password
from edgeplug.errors import DomainError


class CurrentPasswordChangeForm(PasswordChangeForm):
    def __init__(self, user, *args, request, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        try:
            check_current_password(self.request, self.user, old_password)
        except InvalidCredentials:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            ) from None
        except DomainError as error:  # locked: the page answered is the lockout page
            raise forms.ValidationError(error.detail, code=error.code) from None
        return old_password

    def save(self) -> User:
        # Always stored, with its event: no commit=False, which would leave the audit to the
        # caller's own commit.
        change_password(self.user, self.cleaned_data["new_password1"], request=self.request)
        return self.user
