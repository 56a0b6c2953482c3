"""Users (email login), JWT authentication, TOTP enrolment and login lockout."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "edgeplug.accounts"
    label = "accounts"

    def ready(self) -> None:
        from edgeplug.accounts import schema, signals  # noqa: F401
