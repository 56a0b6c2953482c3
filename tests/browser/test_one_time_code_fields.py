"""The authentication-code field, on the portal's sign-in and TOTP enrolment and on the
admin's login, in Chromium: the browser is told it takes a one-time code (it offers the code
from an authenticator or password manager, not codes typed before; a phone shows digits), and
a refused form comes back with that field empty, ready for the next code, while the email it
was given stays."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

# Five digits: never a valid six-digit TOTP code, whatever the clock.
WRONG_CODE = "12345"


def _is_an_empty_one_time_code_field(field) -> bool:
    return (
        field.get_attribute("autocomplete") == "one-time-code"
        and field.get_attribute("inputmode") == "numeric"
        and field.input_value() == ""
    )


def _refused(journey, path: str, status: int, code_label: str, button: str, user) -> None:
    page = journey.page
    journey.expect_status(status, path)
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label(code_label).fill(WRONG_CODE)
    journey.click(page.get_by_role("button", name=button))
    assert path in page.url
    assert page.get_by_label("Email").input_value() == user.email
    assert _is_an_empty_one_time_code_field(page.get_by_label(code_label))


def test_a_refused_portal_sign_in_empties_the_code(journey, vendor_admin):
    journey.goto("/portal/sign-in/")
    assert _is_an_empty_one_time_code_field(journey.page.get_by_label("Authentication code"))
    _refused(journey, "/portal/sign-in/", 401, "Authentication code", "Sign in", vendor_admin)
    # The refusal (otp_invalid) marks the code, as every portal form marks its field.
    code = journey.page.get_by_label("Authentication code")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_have_accessible_description(re.compile("wrong or expired"))


def test_a_refused_admin_login_empties_the_code(journey, staff_user):
    journey.goto("/admin/login/?next=/admin/")
    _refused(journey, "/admin/login/", 200, "OTP Token", "Log in", staff_user("reviewers"))
