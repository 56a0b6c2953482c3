"""The current password a signed-in user types to change it is checked as a sign-in's is:
a wrong one is a failed sign-in (audited ``login_failed``, counted by the lockout), so whoever
holds a signed-in session (a borrowed laptop, a stolen cookie) cannot guess it on the portal's
or the admin's password page past the lockout that stops guessing at the sign-in doors."""

import pytest
from django.test import Client

from edgeplug.audit.models import AuditEvent
from tests.factories import PASSWORD
from tests.portal.test_sign_in import _member, portal_sign_in

pytestmark = pytest.mark.django_db

NEW = "a much longer new passphrase"


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 5


def _failed_and_locked(user) -> tuple[int, bool]:
    failed = AuditEvent.objects.filter(action="login_failed", target=user.email).count()
    locked = AuditEvent.objects.filter(action="account_locked", target=user.email).exists()
    return failed, locked


def _assert_guessing_runs_into_the_lockout(client: Client, page: str, user, refused: int):
    """Five wrong current passwords: the form again (``refused``) four times, then the
    lockout page; the right password is refused too and changes nothing."""
    guesses = [
        client.post(
            page, {"old_password": f"guess {n}", "new_password1": NEW, "new_password2": NEW}
        ).status_code
        for n in range(5)
    ]
    right = client.post(
        page, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )

    assert (guesses, right.status_code) == ([refused] * 4 + [403], 403)
    assert "Account locked" in right.content.decode()
    user.refresh_from_db()
    assert not user.check_password(NEW)
    assert _failed_and_locked(user) == (6, True)  # before: (0, False), the password changed


def test_guessing_the_current_password_on_the_portal_runs_into_the_lockout():
    user = _member("developer")
    client = Client()
    assert portal_sign_in(client, user).status_code == 302

    _assert_guessing_runs_into_the_lockout(client, "/portal/password/", user, refused=400)


def test_guessing_the_current_password_on_the_admins_page_runs_into_the_lockout(admin_session):
    client, staff = admin_session("platform-admins")

    _assert_guessing_runs_into_the_lockout(client, "/admin/password_change/", staff, refused=200)


def test_the_right_current_password_still_changes_it_and_is_no_failure():
    user = _member("developer")
    client = Client()
    portal_sign_in(client, user)

    wrong = client.post(
        "/portal/password/", {"old_password": "nope", "new_password1": NEW, "new_password2": NEW}
    )
    right = client.post(
        "/portal/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert (wrong.status_code, right.status_code) == (400, 302)
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert _failed_and_locked(user) == (1, False)
