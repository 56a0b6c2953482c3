"""An entry of the platform key ring damaged during a rotation (its base64 cut short, a field
left out, a value of the wrong type): `manage.py check` stops with certification.E001 naming
the entry and what is wrong, as for a ring that is not JSON, and the public doors answer
503 platform_key_unavailable. It crashed the check with a traceback, answered a bare HTML 500
at keys.json and `400 malformed_key` (blaming the caller) or 500 at the anonymous catalogue."""

import json

import pytest
from django.core import checks as django_checks
from django.test import Client

from certification import checks
from certification.certificates import platform_keys

pytestmark = pytest.mark.django_db

DAMAGES = {
    "truncated_public_key": ("public_key", lambda entry: entry["public_key"][:-8]),
    "truncated_private_key": ("private_key", lambda entry: entry["private_key"][:-8]),
    "public_key_not_text": ("public_key", lambda entry: 12345),
    "no_not_after": ("not_after", None),
    "not_after_not_a_time": ("not_after", lambda entry: "next year"),
    "key_id_not_text": ("key_id", lambda entry: [entry["key_id"]]),
}


def _damaged_ring(settings, damage: str) -> dict:
    """A rotation's ring, [old retired, new active], the new entry damaged; the new entry."""
    settings.PLATFORM_SIGNING_KEYS_GENERATE = False
    old, new = platform_keys.generate_key_entry(), platform_keys.generate_key_entry()
    field, change = DAMAGES[damage]
    if field != "private_key":
        new["private_key"] = None
    if change is None:
        del new[field]
    else:
        new[field] = change(new)
    settings.PLATFORM_SIGNING_KEYS = json.dumps(
        {"keys": [{**old, "private_key": None}, new], "active": new["key_id"]}
    )
    return new


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_manage_py_check_stops_with_e001_naming_the_damaged_entry(settings, damage):
    new = _damaged_ring(settings, damage)
    try:
        found = checks.platform_key_ring_is_configured(None)
    except Exception as exc:  # noqa: BLE001 - the crash is what this test is about
        pytest.fail(f"the system check itself crashed: {type(exc).__name__}: {exc}")
    (error,) = found
    assert (error.id, error.level) == ("certification.E001", django_checks.ERROR)
    assert "entry 2" in error.msg, error.msg
    if isinstance(new["key_id"], str):
        assert new["key_id"] in error.msg, error.msg
    assert DAMAGES[damage][0] in error.msg, error.msg


def test_an_entry_that_is_not_an_object_is_named_too(settings):
    settings.PLATFORM_SIGNING_KEYS_GENERATE = False
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": [platform_keys.generate_key_entry(), "x"]})
    (error,) = checks.platform_key_ring_is_configured(None)
    assert error.id == "certification.E001"
    assert "entry 2" in error.msg, error.msg


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_the_public_doors_answer_503_platform_key_unavailable(settings, damage):
    _damaged_ring(settings, damage)
    client = Client(raise_request_exception=False)
    for path in ("/.well-known/edgeplug/keys.json", "/api/v1/agents"):
        answer = client.get(path)
        assert answer.status_code == 503, (path, answer.status_code, answer.content[:300])
        assert answer.json()["code"] == "platform_key_unavailable", path
    # Not kept by a cache for the five minutes the key set is, once the ring is mended.
    assert "no-store" in client.get("/.well-known/edgeplug/keys.json")["Cache-Control"]


@pytest.mark.parametrize("where", ["as_an_entry", "as_a_time"])
def test_a_private_key_pasted_in_the_wrong_place_is_not_published_in_the_refusal(settings, where):
    """An operator pastes the new private key as an entry or into a time field: the refusal
    names the entry and the field, never its content, in the check (logged) and in the doors'
    503 (public)."""
    settings.PLATFORM_SIGNING_KEYS_GENERATE = False
    entry = platform_keys.generate_key_entry()
    pasted = {**entry, "not_after": entry["private_key"]}
    settings.PLATFORM_SIGNING_KEYS = json.dumps(
        {"keys": [entry["private_key"] if where == "as_an_entry" else pasted]}
    )

    (error,) = checks.platform_key_ring_is_configured(None)
    answers = [Client().get(path) for path in ("/.well-known/edgeplug/keys.json", "/api/v1/agents")]

    assert "entry 1" in error.msg and entry["private_key"][:8] not in error.msg, error.msg
    for answer in answers:
        assert answer.status_code == 503
        assert entry["private_key"][:8] not in answer.content.decode()


def test_a_key_ring_file_that_cannot_be_read_is_e001_and_503(settings, tmp_path):
    settings.PLATFORM_SIGNING_KEYS_GENERATE = False
    settings.PLATFORM_SIGNING_KEYS = ""
    settings.PLATFORM_SIGNING_KEYS_FILE = str(tmp_path / "missing.json")

    (error,) = checks.platform_key_ring_is_configured(None)
    answer = Client(raise_request_exception=False).get("/.well-known/edgeplug/keys.json")

    assert error.id == "certification.E001" and "cannot be read" in error.msg, error.msg
    assert (answer.status_code, answer.json()["code"]) == (503, "platform_key_unavailable")


def test_a_configured_ring_is_checked_where_processes_may_also_generate(settings):
    """docker compose sets PLATFORM_SIGNING_KEYS_GENERATE (one shared var/) and tells a
    multi-host deployment to set the ring: the ring given is checked all the same."""
    settings.PLATFORM_SIGNING_KEYS_GENERATE = True
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": ["x"]})

    (error,) = checks.platform_key_ring_is_configured(None)

    assert error.id == "certification.E001"
