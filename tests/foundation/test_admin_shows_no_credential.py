"""No admin page shows a credential that works: a refresh token (whoever reads it could act as
its user through the API, with no sign-in recorded) or an order's Stripe client secret (for
the paying customer alone). Their pages name the row (a token's jti, an order's payment
intent) instead. A superuser sees every page."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import sign_in
from tests.factories import MembershipFactory, OrderFactory

pytestmark = pytest.mark.django_db


def _refresh_token():
    refresh = sign_in(APIClient(), MembershipFactory(role="admin").user)["refresh"]
    row = OutstandingToken.objects.get(jti=RefreshToken(refresh, verify=False)["jti"])
    # The token as simplejwt kept it (before the sign-in added its claims): it refreshes too.
    assert APIClient().post("/api/v1/auth/token/refresh", {"refresh": row.token}).status_code == 200
    return f"/admin/token_blacklist/outstandingtoken/{row.pk}/change/", row.token, row.jti


def _client_secret():
    order = OrderFactory(
        status="requires_action", payment_intent_id="pi_3Q", client_secret="pi_3Q_secret_Zz9"
    )
    return f"/admin/marketplace/order/{order.pk}/change/", order.client_secret, "pi_3Q"


@pytest.mark.parametrize("made", [_refresh_token, _client_secret], ids=lambda made: made.__name__)
def test_the_admin_page_names_the_row_not_its_credential(made, admin_session):
    url, credential, name = made()
    client, _ = admin_session("platform-admins", is_superuser=True)
    page = client.get(url)
    assert page.status_code == 200
    assert name in page.content.decode() and credential not in page.content.decode()
