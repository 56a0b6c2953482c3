"""Platform signing keys: loaded from configuration, never from the repository.

``PLATFORM_SIGNING_KEYS_FILE`` (or the ``PLATFORM_SIGNING_KEYS`` environment variable with
the same JSON) holds a list of keys::

    {"keys": [{"key_id": "...", "private_key": "<b64 seed, only for keys that still sign>",
               "public_key": "<b64>", "not_before": "2026-01-01T00:00:00Z",
               "not_after": "2028-01-01T00:00:00Z", "revoked_at": null}],
     "active": "<key_id that signs new certificates>"}

Several keys are published at once so devices keep verifying old certificates after a
rotation; a revoked key's certificates fail verification. With no configuration the
embedded default (SQLite) generates one key into var/platform-keys.json on its first start,
and only then: never while the database holds a certificate (the file was lost, say by a
restore without var/: a new key would disown every stored certificate), and never on another
database, whose processes (web pods, workers, beat) must share one configured ring
(``settings.PLATFORM_SIGNING_KEYS_GENERATE``; docs/operations.md).
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from edgeplug import signing
from edgeplug.errors import DomainError
from edgeplug.secret_files import read_or_create
from edgeplug.text import json_document
from edgeplug.timefmt import parse_utc_iso, utc_iso


class PlatformKeyError(DomainError, code="platform_key_unavailable", status=503):
    """No usable platform signing key (missing, expired or revoked)."""


@dataclass(frozen=True)
class PlatformKey:
    key_id: str
    public_key: bytes
    private_key: bytes | None = field(repr=False)
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None

    def published(self) -> dict:
        return {
            "key_id": self.key_id,
            "algorithm": "Ed25519",
            "public_key": signing.encode_b64(self.public_key),
            "not_before": utc_iso(self.not_before, seconds=True),
            "not_after": utc_iso(self.not_after, seconds=True),
            "revoked_at": utc_iso(self.revoked_at, seconds=True) if self.revoked_at else None,
            "status": "revoked" if self.revoked_at else "valid",
        }


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[PlatformKey, ...]
    active_key_id: str

    def active(self, now: datetime) -> PlatformKey:
        """The key that signs at ``now``, else PlatformKeyError saying why none can."""
        key = next((k for k in self.keys if k.key_id == self.active_key_id), None)
        if key is None:
            raise PlatformKeyError(
                f"The active platform key {self.active_key_id} is not in the ring."
            )
        if key.private_key is None:
            raise PlatformKeyError(
                f"The active platform key {key.key_id} has no private key configured."
            )
        if key.revoked_at is not None:
            raise PlatformKeyError(f"The active platform key {key.key_id} is revoked.")
        if not key.not_before <= now < key.not_after:
            raise PlatformKeyError(
                f"The active platform key {key.key_id} is not valid now (valid from "
                f"{utc_iso(key.not_before, seconds=True)} until "
                f"{utc_iso(key.not_after, seconds=True)})."
            )
        return key

    def vouching_key_ids(self) -> frozenset[str]:
        """Keys whose certificates a verifier accepts: published and not revoked (whatever
        the date of ``revoked_at``; ``key_revoked``). A key no longer published is unknown to
        verifiers (``unknown_key``). The server hands out no other (``marketplace.certified``)."""
        return frozenset(k.key_id for k in self.keys if k.revoked_at is None)

    def published(self) -> dict:
        return {"active_key_id": self.active_key_id, "keys": [k.published() for k in self.keys]}


def parse_keyring(config: dict) -> KeyRing:
    """The ring ``config`` (the JSON above) describes; PlatformKeyError for any damage, naming
    the entry (its number from 1 and key_id) and what is wrong with it, so that a ring mistyped
    in a rotation is certification.E001 at start and ``platform_key_unavailable`` at the doors."""
    entries = config.get("keys", []) if isinstance(config, dict) else None
    if not isinstance(entries, list):
        raise PlatformKeyError(
            'The platform key ring must be an object with a list of "keys" and the "active" key_id.'
        )
    keys = [_parse_entry(number, entry) for number, entry in enumerate(entries, start=1)]
    if not keys:
        raise PlatformKeyError("No platform signing keys are configured.")
    active = config.get("active")
    if active is not None and not isinstance(active, str):
        raise PlatformKeyError('The platform key ring\'s "active" must be a key_id (text).')
    return KeyRing(tuple(keys), active or keys[-1].key_id)


def _parse_entry(number: int, entry: object) -> PlatformKey:
    # Never the entry's content: a private key pasted in the wrong place would be published
    # in the doors' 503 and in the logs.
    if not isinstance(entry, dict):
        raise PlatformKeyError(
            f"Platform key ring entry {number} is {type(entry).__name__}, not an object of key "
            "fields."
        )
    key_id = entry.get("key_id")
    if key_id is not None and not isinstance(key_id, str):
        raise PlatformKeyError(f"Platform key ring entry {number}: key_id must be text.")
    where = f"Platform key ring entry {number} ({key_id or 'no key_id'})"

    def read(name: str, parse, *, required: bool = True):
        value = entry.get(name)
        if value is None or value == "":
            if required:
                raise PlatformKeyError(f"{where}: {name} is missing.")
            return None
        try:
            return parse(value)
        except (TypeError, ValueError, signing.SigningError) as exc:
            raise PlatformKeyError(f"{where}: {name} is unusable ({exc}).") from exc

    private = read("private_key", signing.decode_private_key, required=False)
    public = read("public_key", signing.decode_public_key, required=private is None)
    if public is None:
        public = signing.public_key_from_private(private)
    elif private is not None and signing.public_key_from_private(private) != public:
        raise PlatformKeyError(f"{where}: private and public keys differ.")
    return PlatformKey(
        key_id=key_id or signing.key_id(public),
        public_key=public,
        private_key=private,
        not_before=read("not_before", _parse_time),
        not_after=read("not_after", _parse_time),
        revoked_at=read("revoked_at", _parse_time, required=False),
    )


def _parse_time(value: str) -> datetime:
    try:
        return parse_utc_iso(value)
    except (TypeError, ValueError) as exc:
        # Not the value: a key pasted into a time field would be published in the doors' 503.
        raise ValueError("not ISO 8601 with a timezone") from exc


def generate_key_entry(valid_days: int = 730) -> dict:
    pair = signing.generate_keypair()
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "key_id": signing.key_id(pair.public_key),
        "private_key": signing.encode_b64(pair.private_key),
        "public_key": signing.encode_b64(pair.public_key),
        "not_before": utc_iso(now - timedelta(minutes=5), seconds=True),
        "not_after": utc_iso(now + timedelta(days=valid_days), seconds=True),
        "revoked_at": None,
    }


def _refuse_to_generate(path: Path) -> None:
    """Stop unless this is the embedded default's true first start (see the module docstring)."""
    configure = (
        "Set PLATFORM_SIGNING_KEYS (or PLATFORM_SIGNING_KEYS_FILE) to the platform key ring "
        "every process shares (`manage.py platform_key` prints a new key entry), or restore "
        f"{path} from the backup (docs/operations.md)."
    )
    if not settings.PLATFORM_SIGNING_KEYS_GENERATE:
        raise PlatformKeyError(
            "No platform signing keys are configured, and this deployment does not generate "
            f"them: each process would sign and publish a key of its own. {configure}"
        )
    from certification.models import Certificate

    signed_by = sorted(set(Certificate.objects.values_list("key_id", flat=True)))
    if signed_by:
        raise PlatformKeyError(
            f"The platform key ring {path} is missing, but the database holds certificates "
            f"signed by {', '.join(signed_by)}: a new key would disown them all. {configure}"
        )


def _embedded_config() -> dict:
    path = settings.VAR_DIR / "platform-keys.json"

    def make() -> str:
        _refuse_to_generate(path)
        entry = generate_key_entry()
        return json.dumps({"keys": [entry], "active": entry["key_id"]}, indent=2)

    return json.loads(read_or_create(path, make))


@lru_cache(maxsize=1)
def _cached(source: str) -> KeyRing:
    try:
        config = json_document(source)
    except (ValueError, RecursionError) as exc:
        raise PlatformKeyError(
            "The platform key ring (PLATFORM_SIGNING_KEYS or PLATFORM_SIGNING_KEYS_FILE) is not "
            f"JSON as EdgePlug reads it ({str(exc)[:120]}): give the key ring "
            "`manage.py platform_key` documents."
        ) from exc
    return parse_keyring(config)


def keyring() -> KeyRing:
    if settings.PLATFORM_SIGNING_KEYS:
        return _cached(settings.PLATFORM_SIGNING_KEYS)
    if settings.PLATFORM_SIGNING_KEYS_FILE:
        try:
            with open(settings.PLATFORM_SIGNING_KEYS_FILE) as fh:
                source = fh.read()
        except OSError as exc:
            raise PlatformKeyError(
                f"PLATFORM_SIGNING_KEYS_FILE cannot be read ({exc.strerror or exc})."
            ) from exc
        return _cached(source)
    return _cached(json.dumps(_embedded_config()))
