"""A refresh token is spent once, however many requests present it at once: one rotates it
(or signs it out), the others hear ``token_not_valid`` as a reuse one after the other does.
simplejwt's blacklisting is a get_or_create, which every request racing the first passed, so
one replayed token became several working sessions, and a refresh racing the sign-out
outlived it."""

import pytest
from rest_framework.test import APIClient

from tests.concurrency import needs_row_locks, race
from tests.conftest import sign_in
from tests.factories import MembershipFactory

pytestmark = [needs_row_locks, pytest.mark.django_db(transaction=True)]

REFRESH = "/api/v1/auth/token/refresh"
LOGOUT = "/api/v1/auth/logout"


def _post(url: str, refresh: str):
    response = APIClient().post(url, {"refresh": refresh}, format="json")
    return response.status_code, response.json() if response.content else {}


def test_one_refresh_token_presented_four_times_at_once_rotates_once():
    tokens = sign_in(APIClient(), MembershipFactory().user)

    answers = race(lambda _: _post(REFRESH, tokens["refresh"]), range(4))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 401, 401, 401], answers
    assert {body["code"] for status, body in answers if status == 401} == {"token_not_valid"}
    (new,) = [body["refresh"] for status, body in answers if status == 200]
    assert _post(REFRESH, new)[0] == 200  # the one rotation's token works


def test_a_refresh_racing_the_sign_out_never_outlives_it():
    for _ in range(3):  # which comes first varies; each order is checked for what it must do
        tokens = sign_in(APIClient(), MembershipFactory().user)

        refresh_token = tokens["refresh"]
        answers = dict(
            race(lambda url, token=refresh_token: (url, _post(url, token)), [LOGOUT, REFRESH])
        )

        logout, refresh = answers[LOGOUT], answers[REFRESH]
        if logout[0] == 204:
            assert refresh[0] == 401 and refresh[1]["code"] == "token_not_valid", answers
        else:  # the refresh came first: its new token is another session, signed out on its own
            assert refresh[0] == 200 and logout[1]["code"] == "token_not_valid", answers
