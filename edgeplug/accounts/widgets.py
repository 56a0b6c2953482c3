"""The field a person types a one-time (TOTP) code into, the same on the portal and the admin."""

from django import forms


class OneTimeCodeInput(forms.TextInput):
    """The browser offers the code from an authenticator or a password manager
    (``autocomplete="one-time-code"``; otherwise it offered codes typed before), a phone shows
    digits, and a refused form comes back with the field empty: a code is good once, so the one
    typed would only have to be deleted before typing the next."""

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "one-time-code", "inputmode": "numeric", **(attrs or {})})

    def format_value(self, value):
        return None
