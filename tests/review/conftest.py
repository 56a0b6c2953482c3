"""Staff users with a TOTP device, signed in to the admin the way a person signs in."""

import pytest
from django.test import Client

from tests.conftest import totp_now
from tests.factories import PASSWORD, staff_member

INVALID_MARKER = "!!INVALID:%s!!"


@pytest.fixture
def visible_template_errors(settings):
    """An unresolved template variable prints a marker instead of nothing."""
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"]}}
    ]
    settings.TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = INVALID_MARKER
    return INVALID_MARKER.split("%s")[0]


@pytest.fixture
def make_staff(db):
    """make_staff(group="reviewers") -> a staff member of that group with a TOTP device."""
    return staff_member


@pytest.fixture
def admin_client():
    """admin_client(user) -> a test client signed in with email, password and TOTP at once."""

    def make(user) -> Client:
        client = Client()
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": user.email, "password": PASSWORD, "otp_token": totp_now(user.device)},
        )
        assert response.status_code == 302, response.content.decode()[-2000:]
        return client

    return make
