"""A vendor's pages are never stored (``Cache-Control: no-store``, as the admin's): the
browser does not keep them to show again on Back after sign-out, on a shared machine, nor
does a proxy between. They were sent with no Cache-Control at all."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("admin", "/portal/"),
        ("admin", "/portal/keys/"),
        ("admin", "/portal/team/"),
        ("billing", "/portal/sales/"),
        ("billing", "/portal/sales.csv"),
        ("operator", "/portal/keys/"),  # the page refusing the role (403) too
        ("developer", "/portal/enrol/"),  # the authenticator's secret
    ],
)
def test_a_vendors_page_is_never_stored(portal_vendor, role, path):
    response = portal_vendor(role).client.get(path)
    assert response.status_code in (200, 302, 403)
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
