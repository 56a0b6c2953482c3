"""A vendor admin, in Chromium, steps down to developer on the team page (another admin
stays) and lands on a page they may still open, with the change said there and no refusal
audited; removing a member asks first; an admin who removes themselves is signed out, not
shown a 403."""

import pytest
from playwright.sync_api import expect

from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Membership
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser]


def _messages(page) -> str:
    flashes = page.locator(".messages")
    return flashes.inner_text() if flashes.count() else ""


def _open_team(journey, vendor_admin):
    """Ada signed in, with Grace a second admin, on the team page."""
    page = journey.page
    tenant = vendor_admin.memberships.get().tenant
    MembershipFactory(tenant=tenant, user=UserFactory(email="grace@acme.example"), role="admin")
    portal_sign_in(journey, vendor_admin)
    journey.click(page.get_by_role("link", name="Team"))
    assert page.url == journey.base_url + "/portal/team/"
    return page


def test_an_admin_who_steps_down_lands_on_a_page_they_may_open(journey, vendor_admin):
    page = _open_team(journey, vendor_admin)
    page.get_by_label(f"Role of {vendor_admin.email}").select_option("developer")
    with page.expect_navigation() as landed:
        page.get_by_role("button", name=f"Change role of {vendor_admin.email}").click()
    journey.check()  # no unexpected 403 on the way

    assert landed.value.status == 200
    assert page.url == journey.base_url + "/portal/"
    assert f"{vendor_admin.email} is now developer." in _messages(page)
    assert "Your role does not allow this" not in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Team").count() == 0
    assert Membership.objects.get(user=vendor_admin).role == "developer"
    assert not AuditEvent.objects.filter(action="permission_denied", actor=vendor_admin).exists()


def test_changing_someone_elses_role_stays_on_the_team_page(journey, vendor_admin):
    page = _open_team(journey, vendor_admin)
    page.get_by_label("Role of grace@acme.example").select_option("billing")
    journey.click(page.get_by_role("button", name="Change role of grace@acme.example"))
    assert page.url == journey.base_url + "/portal/team/"
    assert "grace@acme.example is now billing." in _messages(page)


def test_pressing_change_without_changing_the_role_says_nothing_changed(journey, vendor_admin):
    """It said "grace@acme.example is now admin." although she was one already."""
    page = _open_team(journey, vendor_admin)
    journey.click(page.get_by_role("button", name="Change role of grace@acme.example"))
    assert page.url == journey.base_url + "/portal/team/"
    assert _messages(page) == "grace@acme.example is already admin: nothing changed."
    assert not AuditEvent.objects.filter(action="role_changed").exists()


def test_the_last_admin_refused_is_told_by_the_vendors_name(journey, vendor_admin):
    """The refusal named the vendor by its slug ("acme-robotics") where the page says "Acme
    Robotics"."""
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.click(page.get_by_role("link", name="Team"))
    journey.expect_status(409, "/portal/team/")
    page.get_by_label("Email of an existing EdgePlug account").fill(vendor_admin.email)
    journey.click(page.get_by_role("button", name="Add member"))
    refusal = page.locator(".refusal").inner_text()
    assert f"{vendor_admin.email} is already a member of Acme Robotics." in refusal

    # Said at the role itself, which takes the focus (it was a flash over the page).
    role = page.get_by_label(f"Role of {vendor_admin.email}")
    role.select_option("developer")
    journey.expect_status(409, f"/portal/team/{vendor_admin.memberships.get().pk}/role/")
    journey.click(page.get_by_role("button", name=f"Change role of {vendor_admin.email}"))
    expect(role).to_be_focused()
    expect(role).to_have_attribute("aria-invalid", "true")
    expect(role).to_have_accessible_description(
        "last_admin: Acme Robotics must keep at least one admin."
    )
    expect(role).to_have_value("developer")
    assert _messages(page) == ""


def test_a_page_the_role_does_not_allow_names_the_roles_as_the_team_page_does(
    journey, vendor_admin
):
    """It mixed the roles' labels with the member's raw role ("you are billing")."""
    tenant = vendor_admin.memberships.get().tenant
    Membership.objects.filter(user=vendor_admin).update(role="billing")
    MembershipFactory(tenant=tenant, user=UserFactory(email="grace@acme.example"), role="admin")
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.expect_status(403, "/portal/team/")
    journey.goto("/portal/team/")
    assert " ".join(page.locator("main p").first.inner_text().split()) == (
        "This page is for members of Acme Robotics whose role is Admin; your role is "
        "Billing (invoices). Ask an admin of your team if you need it."
    )


def test_removing_a_member_asks_first_and_cancel_keeps_them(journey, vendor_admin):
    page = _open_team(journey, vendor_admin)
    journey.click(page.get_by_role("link", name="Remove grace@acme.example"))
    assert page.get_by_role("heading", name="Remove grace@acme.example").count() == 1
    assert "They lose this team's pages and API at once" in page.locator("main").inner_text()
    journey.click(page.get_by_role("link", name="Cancel"))
    assert page.url == journey.base_url + "/portal/team/"
    assert Membership.objects.filter(user__email="grace@acme.example").exists()

    journey.click(page.get_by_role("link", name="Remove grace@acme.example"))
    journey.click(page.get_by_role("button", name="Yes, remove grace@acme.example"))
    assert page.url == journey.base_url + "/portal/team/"
    assert "grace@acme.example left the team." in _messages(page)
    assert not Membership.objects.filter(user__email="grace@acme.example").exists()


def test_an_admin_who_removes_themselves_is_signed_out(journey, vendor_admin):
    page = _open_team(journey, vendor_admin)
    journey.click(page.get_by_role("link", name=f"Remove {vendor_admin.email}"))
    assert "this session ends" in page.locator("main").inner_text()
    with page.expect_navigation() as landed:
        page.get_by_role("button", name=f"Yes, remove {vendor_admin.email}").click()
    journey.check()

    assert landed.value.status == 200
    assert page.url == journey.base_url + "/portal/sign-in/"
    assert f"{vendor_admin.email} left the team." in _messages(page)
    assert not Membership.objects.filter(user=vendor_admin).exists()
    assert not AuditEvent.objects.filter(action="permission_denied", actor=vendor_admin).exists()
    assert AuditEvent.objects.filter(action="logout", actor=vendor_admin).exists()


def test_a_member_removed_meanwhile_is_said_with_the_way_back(journey, vendor_admin):
    """The team page left open while another admin removes Grace: changing her role says
    she is no longer on the team and leads back to it (it was the portal's bare 404), and the
    team page no longer offers to remove Ada, now the only admin."""
    page = _open_team(journey, vendor_admin)
    grace = Membership.objects.get(user__email="grace@acme.example").pk
    Membership.objects.filter(pk=grace).delete()
    page.get_by_label("Role of grace@acme.example").select_option("billing")
    journey.expect_status(404, f"/portal/team/{grace}/role/")
    journey.click(page.get_by_role("button", name="Change role of grace@acme.example"))
    assert page.get_by_role("heading", level=1).inner_text() == "No such member"
    assert "removed in another tab or by another admin" in page.locator("main").inner_text()

    journey.click(page.get_by_role("link", name="Back to the team"))
    assert page.url == journey.base_url + "/portal/team/"
    assert page.get_by_role("link", name=f"Remove {vendor_admin.email}").count() == 0
    assert "the only admin" in page.locator("main").inner_text()
