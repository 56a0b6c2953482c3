"""A superuser looks after accounts in the admin: grants a user staff status and a group
(audited as ``user_changed``), removes a lost TOTP device (audited as
``mfa_device_removed``, its key never shown), and reads the refresh-token tables, which
offer no way to add, change or delete a row. No user can be deleted."""

import pytest
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from edgeplug.audit.models import AuditEvent
from tests.conftest import sign_in
from tests.factories import MembershipFactory, TOTPDeviceFactory, UserFactory

pytestmark = pytest.mark.browser

USERS = "/admin/accounts/user/"


def test_a_superuser_makes_a_user_staff_in_a_group_and_it_is_audited(journey, superuser):
    dana = UserFactory(email="dana@example.com")
    dana.groups.add(Group.objects.get(name="reviewers"))
    journey.sign_in(superuser)
    page = journey.page

    journey.click(page.get_by_role("link", name="Users"))
    journey.click(page.get_by_role("link", name="dana@example.com"))
    assert page.get_by_role("link", name="Delete").count() == 0
    page.get_by_label("Staff status").check()
    page.get_by_role("listbox", name="Available groups").select_option("finance")
    page.get_by_role("button", name="Choose selected groups").click()
    chosen = page.get_by_role("listbox", name="Chosen groups").get_by_role("option")
    assert sorted(chosen.all_inner_texts()) == ["finance", "reviewers"]
    journey.click(page.get_by_role("button", name="Save", exact=True))

    assert "was changed successfully" in page.locator(".messagelist").inner_text()
    dana.refresh_from_db()
    assert dana.is_staff is True
    assert sorted(dana.groups.values_list("name", flat=True)) == ["finance", "reviewers"]
    [event] = AuditEvent.objects.filter(action="user_changed")
    assert (event.actor, event.target) == (superuser, "dana@example.com")
    assert event.details == {
        "fields": {
            "is_staff": {"from": False, "to": True},
            "groups": {"from": ["reviewers"], "to": ["finance", "reviewers"]},
        }
    }
    journey.expect_status(403, f"{USERS}{dana.pk}/delete/")
    assert journey.goto(f"{USERS}{dana.pk}/delete/").status == 403


def test_a_superuser_removes_a_lost_totp_device_without_seeing_its_key(journey, superuser):
    alice = UserFactory(email="alice@example.com", is_staff=True)
    lost = TOTPDeviceFactory(user=alice, name="lost phone")
    journey.sign_in(superuser)
    page = journey.page

    journey.click(page.get_by_role("link", name="TOTP devices"))
    assert page.get_by_role("link", name="Add TOTP device").count() == 0
    journey.click(page.get_by_role("link", name="alice@example.com"))
    assert lost.key not in page.content()
    assert page.get_by_role("button", name="Save", exact=True).count() == 0
    journey.click(page.get_by_role("link", name="Delete"))
    journey.click(page.get_by_role("button", name="Yes, I\u2019m sure"))

    assert "was deleted successfully" in page.locator(".messagelist").inner_text()
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()
    assert TOTPDevice.objects.filter(user=superuser).exists()  # the admin's own device stays
    [event] = AuditEvent.objects.filter(action="mfa_device_removed")
    assert (event.actor, event.target) == (superuser, "alice@example.com")
    assert event.details == {"device": "lost phone", "confirmed": True, "remaining": 0}


def test_refresh_token_tables_are_read_only_in_the_admin(journey, superuser):
    api = APIClient()
    member = MembershipFactory(role="admin").user
    refresh = sign_in(api, member)["refresh"]
    rotated = api.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")
    assert rotated.status_code == 200  # the first refresh token is blacklisted now
    blacklisted = BlacklistedToken.objects.get()
    journey.sign_in(superuser)
    page = journey.page

    for table, row in (
        ("Outstanding tokens", OutstandingToken.objects.get(pk=blacklisted.token_id).jti),
        ("Blacklisted tokens", blacklisted.token.jti),
    ):
        journey.click(page.get_by_role("link", name=table))
        assert page.get_by_role("link", name=f"Add {table[:-1].lower()}").count() == 0, table
        assert page.locator('select[name="action"]').count() == 0, table
        journey.click(page.get_by_role("link", name=row))
        assert page.get_by_role("button", name="Save", exact=True).count() == 0, table
        assert page.get_by_role("link", name="Delete").count() == 0, table
        assert page.locator("input[type=text], select, textarea").count() == 0, table
        journey.click(page.get_by_role("link", name="Home"))

    assert OutstandingToken.objects.count() == 2
    assert BlacklistedToken.objects.count() == 1
