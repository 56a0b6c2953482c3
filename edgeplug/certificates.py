"""Offline verification of EdgePlug certificates against a published key set.

Pure Python (PyNaCl only, no Django) so devices' tooling and the vendor CLI can use it.
A certificate document is ``{"certificate": {...}, "signature": "<b64>", "key_id": "..."}``;
the signature is Ed25519 over the RFC 8785 canonical JSON of ``certificate``.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from edgeplug import signing
from edgeplug.errors import DomainError
from edgeplug.timefmt import parse_utc_iso


class CertificateInvalid(DomainError, code="certificate_invalid", status=422):
    """A certificate that is not authentic, not current, or not for this package."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail, code=code)


@dataclass(frozen=True)
class VerifiedCertificate:
    key_id: str
    payload: dict


def sha256_label(hexdigest: str) -> str:
    """A digest as a certificate's ``package`` names it: ``sha256:<hex>``."""
    return f"sha256:{hexdigest}"


def verify_certificate(
    document: dict, keyset: dict, *, package: bytes | None = None, now: datetime | None = None
) -> VerifiedCertificate:
    """Raise CertificateInvalid unless the certificate is authentic, current and matches."""
    now = now or datetime.now(UTC)
    try:
        payload = document["certificate"]
        key_id = document["key_id"]
        signature = signing.decode_signature(document["signature"])
    except KeyError as exc:
        raise CertificateInvalid(
            "certificate_malformed", f"the document has no {exc} field"
        ) from exc
    except (TypeError, signing.SigningError) as exc:
        raise CertificateInvalid("certificate_malformed", str(exc)) from exc
    if not isinstance(payload, dict):
        raise CertificateInvalid("certificate_malformed", "the certificate is not an object")
    if payload.get("key_id") != key_id:
        raise CertificateInvalid("certificate_malformed", "key ids of document and body differ")
    key = _key_named(keyset, key_id)
    try:
        signing.verify_document(signing.decode_public_key(key["public_key"]), payload, signature)
    except signing.SigningError as exc:
        raise CertificateInvalid("bad_signature", "the signature does not verify") from exc
    issued, expires = _times(payload, "issued_at", "expires_at", code="certificate_malformed")
    not_before, not_after = _times(key, "not_before", "not_after", code="keyset_malformed")
    if key.get("revoked_at"):
        raise CertificateInvalid("key_revoked", f"key {key_id} was revoked {key['revoked_at']}")
    if not not_before <= issued < not_after:
        raise CertificateInvalid("key_not_valid_then", "issued outside the key's validity window")
    if now >= expires:
        raise CertificateInvalid("certificate_expired", f"expired {payload['expires_at']}")
    if package is not None:
        certified = payload.get("package")
        if not isinstance(certified, dict):
            # Signed as it is, but not of the certificate's shape ({"digest": "sha256:…"}).
            raise CertificateInvalid(
                "certificate_malformed", "the certificate's package is not an object"
            )
        digest = sha256_label(signing.package_digest(package).hex())
        if certified.get("digest") != digest:
            raise CertificateInvalid("package_mismatch", "the package is not the certified one")
    return VerifiedCertificate(key_id, payload)


def _key_named(keyset: dict, key_id: str) -> dict:
    """The entry of ``keyset`` (``{"keys": [{key_id, public_key, not_before, not_after}]}``)
    for ``key_id``: ``unknown_key`` when it has none, ``keyset_malformed`` when it is not of
    that shape."""
    keys = keyset.get("keys") if isinstance(keyset, dict) else None
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise CertificateInvalid("keyset_malformed", 'the key set is not {"keys": [objects]}')
    key = next((key for key in keys if key.get("key_id") == key_id), None)
    if key is None:
        raise CertificateInvalid("unknown_key", f"key {key_id} is not in the key set")
    if not isinstance(key.get("public_key"), str):
        raise CertificateInvalid("keyset_malformed", f"key {key_id} has no public_key text")
    return key


def _times(document: dict, *names: str, code: str) -> list[datetime]:
    """The UTC instants ``document`` gives for ``names``, or CertificateInvalid ``code``."""
    try:
        return [parse_utc_iso(document[name]) for name in names]
    except (KeyError, TypeError, ValueError) as exc:
        raise CertificateInvalid(code, f"a time is missing or bad: {exc}") from exc
