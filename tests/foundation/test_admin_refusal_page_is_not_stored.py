"""The admin's 403 page, in its frame with the staff user's name, is never stored
(``Cache-Control: no-store``), as the admin's own pages are: a ``PermissionDenied`` raised in
an admin view escaped its ``never_cache`` and the page was sent with no Cache-Control."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_admins_refusal_page_is_never_stored(admin_session):
    # A reviewer opening a finance page: the admin's 403 page, in its frame with their name.
    client, user = admin_session("reviewers")
    response = client.get("/admin/billing/finance/exports/")
    assert response.status_code == 403
    page = response.content.decode()
    assert user.email in page or user.get_username() in page
    assert "no-store" in client.get("/admin/")["Cache-Control"]  # the admin's own pages
    assert "no-store" in response.get("Cache-Control", ""), dict(response.headers)
