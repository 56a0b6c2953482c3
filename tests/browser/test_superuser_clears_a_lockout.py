"""A member locked out by wrong passwords asks support; a superuser finds the account under
Axes → Access attempts, clears its lock ("Clear lock", nothing deleted otherwise) and the
audit log shows it as ``account_unlocked``. The member signs in again at once."""

import pytest
from axes.models import AccessAttempt
from rest_framework.test import APIClient

from tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.browser

TOKEN = "/api/v1/auth/token"
CLEAR_LOCK = "Clear lock: forget the chosen rows' failed sign-ins"


def _sign_in(api: APIClient, email: str, password: str = PASSWORD):
    return api.post(TOKEN, {"email": email, "password": password}, format="json")


def test_a_superuser_clears_a_lockout_and_the_audit_log_shows_it(journey, superuser, settings):
    settings.AXES_FAILURE_LIMIT = 3
    api = APIClient()
    member = MembershipFactory(role="admin", user__email="locked@example.com").user
    for _ in range(3):
        _sign_in(api, member.email, "wrong")
    assert _sign_in(api, member.email).status_code == 403
    attempt = AccessAttempt.objects.get(username=member.email)
    journey.sign_in(superuser)
    page = journey.page

    journey.click(page.get_by_role("link", name="Access attempts"))
    assert page.locator('select[name="action"] option[value="delete_selected"]').count() == 0
    page.locator(f'#result_list input[name="_selected_action"][value="{attempt.pk}"]').check()
    page.locator('select[name="action"]').select_option(label=CLEAR_LOCK)
    journey.click(page.get_by_role("button", name="Go"))

    assert "Lock of locked@example.com cleared" in page.locator(".messagelist").inner_text()
    assert not AccessAttempt.objects.filter(username=member.email).exists()
    journey.click(page.get_by_role("link", name="Home"))
    journey.click(page.get_by_role("link", name="Audit events"))
    row = page.locator("#result_list tbody tr").filter(has_text="account_unlocked")
    assert row.count() == 1
    assert "locked@example.com" in row.inner_text()
    assert superuser.email in row.inner_text()
    assert _sign_in(api, member.email).status_code == 200
