"""Finance and platform admins sign in and see exactly what their group grants."""

import pytest

from tests.browser.runs import passed_run

pytestmark = pytest.mark.browser

RUNS = "/admin/certification/certificationrun/"


def test_finance_signs_in_and_sees_no_certification_pages(journey, staff_user):
    run = passed_run()
    journey.sign_in(staff_user("finance"))
    page = journey.page
    assert page.get_by_role("link", name="Certification runs").count() == 0
    journey.expect_status(403, RUNS)
    journey.expect_status(403, f"{RUNS}{run.pk}/change/")
    assert journey.goto(RUNS).status == 403
    assert journey.goto(f"{RUNS}{run.pk}/change/").status == 403


def test_platform_admin_tunes_levels_and_reads_runs_but_cannot_decide(journey, staff_user):
    run = passed_run()
    journey.sign_in(staff_user("platform-admins"))
    page = journey.page
    for name in ("Certification runs", "Level thresholds", "Advisories"):
        assert page.get_by_role("link", name=name).count() >= 1, name
    assert page.get_by_role("link", name="Users").count() == 0

    journey.click(page.get_by_role("link", name="Certification runs").first)
    journey.click(page.locator(f'a[href^="{RUNS}{run.pk}/change/"]'))
    assert page.locator("#stage-security").is_visible()
    assert page.locator("#decision").count() == 0

    journey.expect_status(403, f"{RUNS}{run.pk}/decide/")
    response = page.request.post(f"{journey.base_url}{RUNS}{run.pk}/decide/")
    assert response.status == 403  # no CSRF token and no reviewer group: refused either way
    run.refresh_from_db()
    assert run.review_status == "pending"

    journey.click(page.get_by_role("link", name="Level thresholds").first)
    assert page.get_by_role("link", name="Add level thresholds").count() == 1
    journey.expect_status(403, "/admin/accounts/user/")
    assert journey.goto("/admin/accounts/user/").status == 403


@pytest.mark.parametrize("vendor_role", [None, "developer"], ids=["staff_only", "also_a_vendor"])
def test_a_new_staff_member_sets_up_an_authenticator_and_reaches_the_admin(
    journey, transactional_db, vendor_role
):
    """As `manage.py adduser … --staff-group reviewers` leaves them: a password and no device.
    The admin asks for a code; its login page leads to the enrolment, which leads back. A
    staff member who is also a vendor's developer (no second factor asked of that role) is led
    there too: until 2026-12-02 the sign-in took them to the vendor's dashboard, with no way to
    the enrolment, and so never into the admin."""
    from django.contrib.auth.models import Group
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.factories import MembershipFactory, UserFactory, VendorTenantFactory

    user = UserFactory(email="new-reviewer@edgeplug.example", is_staff=True)
    user.groups.add(Group.objects.get(name="reviewers"))
    if vendor_role:
        MembershipFactory(tenant=VendorTenantFactory(), user=user, role=vendor_role)
    page = journey.page
    journey.goto("/admin/login/?next=/admin/")

    journey.click(page.locator("#no-authenticator a"))
    device = journey.start_enrolment(user)
    page.get_by_text("Cannot scan?").click()  # the address to type into the app
    assert page.locator("details code").inner_text() == device.config_url
    page.get_by_label("Code from your authenticator app").fill(f"{totp(device.bin_key):06d}")
    journey.click(page.get_by_role("button", name="Confirm"))

    assert page.url == journey.base_url + "/admin/"
    assert page.get_by_role("link", name="Certification runs").count() >= 1
    assert TOTPDevice.objects.get(user=user).confirmed
