"""A rotation of the platform key ring (README, *Platform key rotation*) that leaves no key
able to sign: the operator forgot to switch "active" to the new entry after stripping the old
one's private key, mistyped the new key id, or the active key is revoked or outside its dates.
The service starts and publishes; every certification run that passes its stages then ends in
`error` (`platform_key_unavailable`). `manage.py check` warns at start, naming why (a warning:
a ring of public keys only is right for processes that only publish and verify)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import checks as django_checks

from certification import checks
from certification.certificates import platform_keys
from edgeplug.timefmt import utc_iso

pytestmark = pytest.mark.django_db


def _ring(settings, keys, active):
    settings.PLATFORM_SIGNING_KEYS_GENERATE = False
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": keys, "active": active})


def _flagged(settings) -> list[django_checks.CheckMessage]:
    return [
        m for m in checks.platform_key_ring_is_configured(None) if m.level >= django_checks.WARNING
    ]


def _ago(**delta) -> str:
    return utc_iso(datetime.now(UTC).replace(microsecond=0) - timedelta(**delta), seconds=True)


def _ahead(**delta) -> str:
    return utc_iso(datetime.now(UTC).replace(microsecond=0) + timedelta(**delta), seconds=True)


def _mistyped(key_id: str) -> str:
    """``key_id`` with its last character changed (to another: it may already be "0")."""
    return key_id[:-1] + ("1" if key_id.endswith("0") else "0")


def _mistake(name: str, old: dict, new: dict) -> tuple[list[dict], str, str]:
    retired_old = {**old, "private_key": None}
    return {
        "old_key_stays_active": ([retired_old, new], old["key_id"], "has no private key"),
        "active_id_mistyped": (
            [retired_old, new],
            _mistyped(new["key_id"]),
            "is not in the ring",
        ),
        "active_key_revoked": (
            [retired_old, {**new, "revoked_at": _ago(minutes=1)}],
            new["key_id"],
            "is revoked",
        ),
        "active_key_expired": (
            [retired_old, {**new, "not_before": _ago(days=2), "not_after": _ago(days=1)}],
            new["key_id"],
            "is not valid now",
        ),
        "active_key_not_yet_valid": (
            [retired_old, {**new, "not_before": _ahead(days=1)}],
            new["key_id"],
            "is not valid now",
        ),
    }[name]


@pytest.mark.parametrize(
    "mistake",
    [
        "old_key_stays_active",
        "active_id_mistyped",
        "active_key_revoked",
        "active_key_expired",
        "active_key_not_yet_valid",
    ],
)
def test_a_ring_that_cannot_sign_is_flagged_at_start_saying_why(settings, mistake):
    old, new = platform_keys.generate_key_entry(), platform_keys.generate_key_entry()
    keys, active, why = _mistake(mistake, old, new)
    _ring(settings, keys, active)
    (warning,) = _flagged(settings)
    assert warning.id == "certification.W001"
    assert warning.level == django_checks.WARNING
    assert active in warning.msg and why in warning.msg, warning.msg


def test_a_rotated_ring_that_signs_is_not_flagged(settings):
    old, new = platform_keys.generate_key_entry(), platform_keys.generate_key_entry()
    _ring(settings, [{**old, "private_key": None}, new], new["key_id"])
    assert _flagged(settings) == []
