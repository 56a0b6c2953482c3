"""A user's account and privileges changed in the admin (active, staff, superuser, groups,
email) are audited as ``user_changed``, each changed field with its before and after (groups
by name), as the same admin audits a password it sets (``password_changed``) and a user it
adds (``user_created``, as ``manage.py adduser`` does)."""

import pytest
from django.contrib.auth.models import Group

from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Role
from edgeplug.tenancy.services import add_member, create_tenant
from tests.conftest import changeform_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_page(admin_session):
    """(client, staff user, url, the user to change, its change page's unchanged data)."""
    client, staff = admin_session("platform-admins", is_superuser=True)
    user = UserFactory(email="dana@example.com")
    user.groups.add(Group.objects.get(name="reviewers"))
    url = f"/admin/accounts/user/{user.pk}/change/"
    return client, staff, url, user, changeform_data(client.get(url))


def _group(name: str) -> str:
    return str(Group.objects.get(name=name).pk)


def _changes() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="user_changed").order_by("id"))


def test_granting_staff_powers_in_the_admin_is_audited(user_page):
    client, staff, url, user, data = user_page
    data.update(
        {"is_staff": "on", "is_superuser": "on", "groups": [_group("finance"), _group("reviewers")]}
    )

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, True)
    [event] = _changes()  # before: none
    assert (event.actor, event.target) == (staff, "dana@example.com")
    assert event.details == {
        "fields": {
            "is_staff": {"from": False, "to": True},
            "is_superuser": {"from": False, "to": True},
            "groups": {"from": ["reviewers"], "to": ["finance", "reviewers"]},
        }
    }


def test_deactivating_a_user_and_taking_their_groups_is_audited(user_page):
    client, _, url, user, data = user_page
    data.pop("is_active")
    data.pop("groups")

    assert client.post(url, data).status_code == 302

    user.refresh_from_db()
    assert user.is_active is False and not user.groups.exists()
    [event] = _changes()
    assert event.details == {
        "fields": {
            "is_active": {"from": True, "to": False},
            "groups": {"from": ["reviewers"], "to": []},
        }
    }


def test_changing_a_users_email_is_audited_under_the_new_one(user_page):
    client, _, url, _, data = user_page
    data["email"] = "dana.new@example.com"

    assert client.post(url, data).status_code == 302

    [event] = _changes()
    assert event.target == "dana.new@example.com"
    assert event.details == {
        "fields": {"email": {"from": "dana@example.com", "to": "dana.new@example.com"}}
    }


def test_saving_a_user_unchanged_or_only_their_memberships_records_no_user_change(user_page):
    client, _, url, user, data = user_page
    tenant = create_tenant(name="Nordic Pumps", slug="nordic-pumps")
    add_member(tenant, UserFactory(), Role.ADMIN)

    assert client.post(url, data).status_code == 302
    data.update(
        {
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-tenant": str(tenant.pk),
            "memberships-0-user": str(user.pk),
            "memberships-0-role": Role.DEVELOPER,
        }
    )
    assert client.post(url, data).status_code == 302

    assert _changes() == []
    assert AuditEvent.objects.filter(action="membership_created", target=user.email).exists()


def test_adding_a_user_in_the_admin_is_audited_and_saving_them_again_is_not(admin_session):
    client, staff = admin_session("platform-admins", is_superuser=True)
    add = "/admin/accounts/user/add/"
    data = changeform_data(client.get(add))
    data.update(
        {
            "email": "erin@example.com",
            "password1": "a-long-password-1",
            "password2": "a-long-password-1",
        }
    )

    response = client.post(add, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    [event] = AuditEvent.objects.filter(action="user_created")
    assert (event.actor, event.target) == (staff, "erin@example.com")
    assert event.details["access"]["is_staff"] is False
    assert event.details["access"]["groups"] == []
    assert "a-long-password-1" not in str(event.details)
    assert _changes() == []  # made, not changed
