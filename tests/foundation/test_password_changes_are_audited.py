"""Every page that changes a password audits it as ``password_changed``, with who did it:
the portal, the admin's own password change, and a staff user's change of another user's."""

import pytest
from django.test import Client

from edgeplug.audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.portal.test_sign_in import _member, portal_sign_in

pytestmark = pytest.mark.django_db

NEW = "a much longer new passphrase"


def _changes():
    return [
        (e.actor_id, e.target, e.details["own"])
        for e in AuditEvent.objects.filter(action="password_changed").order_by("id")
    ]


def test_a_member_changing_their_password_in_the_portal_is_audited():
    user = _member("developer")
    client = Client()
    portal_sign_in(client, user)

    client.post(
        "/portal/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert _changes() == [(user.pk, user.email, True)]


def test_a_staff_user_changing_their_own_password_in_the_admin_is_audited(admin_session):
    client, staff = admin_session("platform-admins")

    refused = client.post(
        "/admin/password_change/",
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )
    changed = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert (refused.status_code, changed.status_code) == (200, 302)
    assert _changes() == [(staff.pk, staff.email, True)]  # before: nothing


def test_a_superuser_setting_another_users_password_is_audited(admin_session):
    client, staff = admin_session("platform-admins", is_superuser=True)
    other = UserFactory()

    changed = client.post(
        f"/admin/accounts/user/{other.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )

    assert changed.status_code == 302
    other.refresh_from_db()
    assert other.check_password(NEW)
    assert _changes() == [(staff.pk, other.email, False)]  # before: nothing


def test_a_superuser_disabling_another_users_password_sign_in_is_audited(admin_session):
    client, staff = admin_session("platform-admins", is_superuser=True)
    other = UserFactory()
    disable = {"usable_password": "false", "unset-password": "Disable"}

    assert client.post(f"/admin/accounts/user/{other.pk}/password/", disable).status_code == 302
    other.refresh_from_db()
    assert (other.has_usable_password(), _changes()) == (False, [(staff.pk, other.email, False)])
