"""An API sign-out revokes its refresh token with its ``logout`` event or not at all: when the
event cannot be written (a database error, as a full disk raises), the API answers 503 (the
database unavailable), so the client knows the sign-out failed, and the token is still live.
Before, the token was blacklisted (a commit of its own) and the 503 came after it, unaudited."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from edgeplug.audit.models import AuditEvent
from tests.conftest import sign_in
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sign_out_that_cannot_be_audited_leaves_the_token_live(audit_insert_fails):
    api = APIClient(raise_request_exception=False)
    tokens = sign_in(api, MembershipFactory().user)
    audit_insert_fails("logout")

    response = api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 503
    assert not AuditEvent.objects.filter(action="logout").exists()
    assert not BlacklistedToken.objects.exists(), "answered 503, yet the token was revoked"
    refreshed = api.post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
