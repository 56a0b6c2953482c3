"""manage.py platform_key: a fresh key entry that the key ring accepts, and the published set."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from certification.certificates import platform_keys


def _run(*args) -> str:
    out = StringIO()
    call_command("platform_key", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_generated_entry_signs_once_configured(settings):
    entry = json.loads(_run("--days", "30"))
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": [entry], "active": entry["key_id"]})
    published = json.loads(_run("--published"))
    assert published["active_key_id"] == entry["key_id"]
    assert published["keys"][0]["public_key"] == entry["public_key"]
    assert "private_key" not in published["keys"][0]
    assert platform_keys.keyring().active(platform_keys.parse_keyring(published).keys[0].not_before)


def test_bad_arguments_and_bad_configuration_are_errors(settings):
    with pytest.raises(CommandError, match="--days"):
        _run("--days", "0")
    # Past the calendar: an OverflowError's traceback, where the key's not_after was made.
    for days in ("36501", "100000000", str(10**30)):
        with pytest.raises(CommandError, match="--days must be from 1 to 36500"):
            _run("--days", days)
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": []})
    with pytest.raises(CommandError, match="No platform signing keys"):
        _run("--published")
