"""Canonical JSON (RFC 8785) and Ed25519 signing primitives shared by the server and the CLI.

Pure Python on top of PyNaCl and ``rfc8785``; it must never import Django, because the vendor
CLI and offline device-side verification use it too.

Conventions (documented for vendors in ``docs/package-format.md``):

* Keys are raw Ed25519 keys: a 32-byte public key and a 32-byte private *seed*.
* Keys and signatures travel as standard base64 with padding (RFC 4648 section 4).
* A key id is ``"ed25519:"`` followed by the first 32 lowercase hex characters (128 bits) of
  the SHA-256 of the raw public key bytes.
* A package signature is a detached Ed25519 signature over the 32 raw bytes of the SHA-256
  digest of the archive bytes (not over its hex form, not over the archive itself).
* A document signature (WPKs, certificates) is a detached Ed25519 signature over the RFC 8785
  canonical JSON bytes of the document.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.signing
import rfc8785

from edgeplug.errors import DomainError
from edgeplug.text import json_document

KEY_BYTES = 32
SIGNATURE_BYTES = 64
KEY_ID_PREFIX = "ed25519:"
KEY_ID_PATTERN = re.compile(r"^ed25519:[0-9a-f]{32}$")


class SigningError(DomainError, code="signing_error"):
    """Base class for signing failures; ``code`` is stable and machine-readable."""


class MalformedKey(SigningError, code="malformed_key"):
    """A key is not valid base64 or not 32 bytes long."""


class MalformedSignature(SigningError, code="malformed_signature"):
    """A signature is not valid base64 or not 64 bytes long."""


class BadSignature(SigningError, code="bad_signature", status=422):
    """A well-formed signature does not verify for this key and message."""


class CanonicalizationError(SigningError, code="not_canonicalizable"):
    """A value cannot be expressed as RFC 8785 canonical JSON (e.g. NaN, huge integers)."""


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 key pair as raw bytes: the private seed and the public key."""

    private_key: bytes = field(repr=False)
    public_key: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` as RFC 8785 (JCS) canonical JSON bytes."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(f"value cannot be canonicalised: {exc}") from exc


def generate_keypair() -> KeyPair:
    """Generate a fresh Ed25519 key pair from the OS random source."""
    signing_key = nacl.signing.SigningKey.generate()
    return KeyPair(private_key=bytes(signing_key), public_key=bytes(signing_key.verify_key))


def public_key_from_private(private_key: bytes) -> bytes:
    """Derive the raw public key from a raw 32-byte private seed."""
    return bytes(_signing_key(private_key).verify_key)


def key_id(public_key: bytes) -> str:
    """The fingerprint that names a public key: ``ed25519:`` + 32 hex chars of its SHA-256."""
    _require_length(public_key, KEY_BYTES, MalformedKey, "public key")
    return KEY_ID_PREFIX + hashlib.sha256(public_key).hexdigest()[:32]


def sign(private_key: bytes, message: bytes) -> bytes:
    """Return the detached 64-byte Ed25519 signature of ``message``."""
    return _signing_key(private_key).sign(message).signature


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise ``BadSignature`` unless ``signature`` is valid for ``message`` under the key."""
    _require_length(signature, SIGNATURE_BYTES, MalformedSignature, "signature")
    try:
        _verify_key(public_key).verify(message, signature)
    except nacl.exceptions.BadSignatureError as exc:
        raise BadSignature("signature does not verify with this key") from exc


def signer_of(digest: bytes, signature: bytes, keys: Iterable[tuple[str, str]]) -> str | None:
    """The id of the first of ``keys`` (``(key_id, base64 public key)``) under which
    ``signature`` verifies ``digest``, else None: how the CLI and the vendor portal find the
    registered key a vendor signed with when none is named."""
    for key_id, public_key in keys:
        try:
            verify(decode_public_key(public_key), digest, signature)
        except SigningError:
            continue
        return key_id
    return None


def package_digest(package: bytes) -> bytes:
    """The 32 raw bytes of the SHA-256 of the archive: the message a package signature covers."""
    return hashlib.sha256(package).digest()


def sign_package(private_key: bytes, package: bytes) -> bytes:
    """Sign an archive: Ed25519 over the raw SHA-256 digest of its bytes."""
    return sign(private_key, package_digest(package))


def verify_package(public_key: bytes, package: bytes, signature: bytes) -> None:
    """Raise ``BadSignature`` unless ``signature`` covers the SHA-256 digest of ``package``."""
    verify(public_key, package_digest(package), signature)


def sign_document(private_key: bytes, document: Any) -> bytes:
    """Sign the RFC 8785 canonical JSON form of ``document``."""
    return sign(private_key, canonical_json(document))


def verify_document(public_key: bytes, document: Any, signature: bytes) -> None:
    """Raise ``BadSignature`` unless ``signature`` covers the canonical JSON of ``document``."""
    verify(public_key, canonical_json(document), signature)


def encode_b64(raw: bytes) -> str:
    """Standard base64 with padding, the text form of keys and signatures."""
    return base64.b64encode(raw).decode("ascii")


def decode_public_key(text: str) -> bytes:
    """Decode a base64 public key; raise ``MalformedKey`` unless it is a usable Ed25519 key.

    Besides the length, the bytes must encode a curve point outside the small-order subgroup:
    such weak keys are refused at registration rather than discovered at verification.
    """
    raw = _strict_b64decode(text, MalformedKey, "public key")
    _require_length(raw, KEY_BYTES, MalformedKey, "public key")
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(raw):
        raise MalformedKey("public key is not a valid Ed25519 point")
    return raw


def decode_private_key(text: str) -> bytes:
    """Decode a base64 private seed; raise ``MalformedKey`` unless it is 32 bytes."""
    raw = _strict_b64decode(text, MalformedKey, "private key")
    _require_length(raw, KEY_BYTES, MalformedKey, "private key")
    return raw


def decode_signature(text: str) -> bytes:
    """Decode a base64 signature; raise ``MalformedSignature`` unless it is 64 bytes."""
    raw = _strict_b64decode(text, MalformedSignature, "signature")
    _require_length(raw, SIGNATURE_BYTES, MalformedSignature, "signature")
    return raw


def _strict_b64decode(text: str, error: type[SigningError], what: str) -> bytes:
    if not isinstance(text, str):
        raise error(f"{what} must be base64 text")
    try:
        # validate=True refuses characters outside the standard alphabet instead of
        # silently dropping them, so one text form maps to one value.
        return base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise error(f"{what} is not valid base64") from exc


def _require_length(raw: bytes, length: int, error: type[SigningError], what: str) -> None:
    if not isinstance(raw, bytes) or len(raw) != length:
        raise error(f"{what} must be exactly {length} bytes")


def _signing_key(private_key: bytes) -> nacl.signing.SigningKey:
    _require_length(private_key, KEY_BYTES, MalformedKey, "private key")
    return nacl.signing.SigningKey(private_key)


def _verify_key(public_key: bytes) -> nacl.signing.VerifyKey:
    _require_length(public_key, KEY_BYTES, MalformedKey, "public key")
    return nacl.signing.VerifyKey(public_key)


# What ``edgeplug keygen`` writes: a JSON document holding the private seed beside the public
# key (marketplace/cli/keyfile.py).
KEY_FILE_FORMAT = "edgeplug-signing-key"


def _json_object(text: str | bytes) -> dict | None:
    """``text`` read as a JSON object, or None when it is not one."""
    try:
        document = json_document(text)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def is_key_file(text: str | bytes) -> bool:
    """Whether ``text`` is a key file as ``edgeplug keygen`` writes it (its ``format``): what a
    package may never hold."""
    document = _json_object(text)
    return document is not None and document.get("format") == KEY_FILE_FORMAT


def holds_private_key(text: str | bytes) -> bool:
    """Whether ``text`` is a key file as ``edgeplug keygen`` writes it, or any JSON object
    holding a ``private_key``: the secret that must never leave the vendor's machine, which
    the server refuses where a public key is asked for (a package refuses only the key file
    itself, ``is_key_file``)."""
    document = _json_object(text)
    return document is not None and (
        "private_key" in document or document.get("format") == KEY_FILE_FORMAT
    )
