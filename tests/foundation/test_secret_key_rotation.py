"""Rotating SECRET_KEY: the old key in SECRET_KEY_FALLBACKS (comma-separated) keeps the
browser sessions it signed valid, instead of signing everyone out (docs/operations.md)."""

import json

import pytest
from django.test import Client

from tests.factories import MembershipFactory
from tests.processes import python_with_settings

OLD, OLDER, NEW = "o" * 60, "p" * 60, "n" * 60
ME = "/api/v1/auth/me"

_SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps(s.SECRET_KEY_FALLBACKS))"
)


@pytest.mark.parametrize(
    "given, fallbacks",
    [(None, []), ("", []), (f" {OLD} , {OLDER},,", [OLD, OLDER]), (f"${OLD}", [f"${OLD}"])],
)
def test_fallback_keys_are_read_from_the_environment(tmp_path, given, fallbacks):
    env = {"SECRET_KEY": NEW} | ({} if given is None else {"SECRET_KEY_FALLBACKS": given})
    started = python_with_settings(tmp_path, _SHOW, **env)
    assert started.returncode == 0, started.stderr[-2000:]
    assert json.loads(started.stdout.strip().splitlines()[-1]) == fallbacks


def _signed_in_under(key: str, settings) -> Client:
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = key, []
    client = Client()
    client.force_login(MembershipFactory().user)
    assert client.get(ME).status_code == 200
    return client


@pytest.mark.django_db
def test_a_browser_session_survives_a_rotation_with_the_old_key_as_fallback(settings):
    kept, dropped = _signed_in_under(OLD, settings), _signed_in_under(OLD, settings)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert kept.get(ME).status_code == 200
    # Its session is signed anew with the new key on that request: it outlives the fallback.
    settings.SECRET_KEY_FALLBACKS = []
    assert kept.get(ME).status_code == 200
    # A session the old key signed that did not come back while it was a fallback ends.
    assert dropped.get(ME).status_code in (401, 403)
