"""A staff account locked by wrong passwords at the admin's login reads why in the admin's
frame, in Chromium: "EdgePlug administration" and its title, as the login page has them.
Before, the page was branded "Django administration" (rendered without the admin site's
context)."""

import pytest

from tests.conftest import totp_now

pytestmark = pytest.mark.browser

LOGIN = "/admin/login/"


def test_a_locked_staff_account_reads_why_under_the_edgeplug_admin_header(
    journey, staff_user, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    reviewer = staff_user("reviewers")
    journey.expect_status(403, LOGIN)
    journey.goto(f"{LOGIN}?next=/admin/")
    page = journey.page
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Email").fill(reviewer.email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_label("OTP Token").fill(totp_now(reviewer.device))
        journey.click(page.get_by_role("button", name="Log in"))

    detail = page.locator("#locked-detail").inner_text()
    assert detail.startswith("Too many failed sign-ins from your address")
    assert page.locator("#site-name").inner_text() == "EdgePlug administration"
    assert page.locator("h1").inner_text() == "Account locked"
    assert page.title() == "Account locked | EdgePlug admin"
    assert "Django" not in page.locator("body").inner_text()
