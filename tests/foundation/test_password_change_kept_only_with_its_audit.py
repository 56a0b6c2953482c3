"""A password change from a page is kept with its ``password_changed`` event or not at all:
when the event cannot be written (a database error, as a full disk raises), the page answers
500, which tells the person the change failed, and the old password still signs in. Before,
the new password was saved (a commit of its own) and the 500 came after it, unaudited."""

import pytest
from django.test import Client

from edgeplug.audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.portal.test_sign_in import _member, portal_sign_in

pytestmark = pytest.mark.django_db(transaction=True)

NEW = "a much longer new passphrase"


OWN_CHANGE = {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
# What each page answered and whether the old password still signs in; (500, True) when the
# change failed whole.
FAILED_WHOLE = (500, True)


def _posted(client, path: str, data: dict, user) -> tuple[int, bool]:
    client.raise_request_exception = False
    response = client.post(path, data)
    user.refresh_from_db()
    assert not AuditEvent.objects.filter(action="password_changed").exists()
    return response.status_code, user.check_password(PASSWORD)


def test_a_portal_password_change_that_cannot_be_audited_is_not_kept(audit_insert_fails):
    user = _member("developer")
    client = Client()
    portal_sign_in(client, user)
    audit_insert_fails("password_changed")

    assert _posted(client, "/portal/password/", OWN_CHANGE, user) == FAILED_WHOLE


def test_a_staff_users_own_password_change_that_cannot_be_audited_is_not_kept(
    admin_session, audit_insert_fails
):
    client, staff = admin_session("platform-admins")
    audit_insert_fails("password_changed")

    assert _posted(client, "/admin/password_change/", OWN_CHANGE, staff) == FAILED_WHOLE


def test_another_users_password_set_in_the_admin_is_not_kept_unaudited(
    admin_session, audit_insert_fails
):
    client, _ = admin_session("platform-admins", is_superuser=True)
    other = UserFactory()
    audit_insert_fails("password_changed")
    data = {"password1": NEW, "password2": NEW, "usable_password": "true"}

    assert _posted(client, f"/admin/accounts/user/{other.pk}/password/", data, other) == (
        FAILED_WHOLE
    )
