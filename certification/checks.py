"""System checks: a deployment that is not the embedded default starts only with the platform
key ring its processes share (PLATFORM_SIGNING_KEYS or PLATFORM_SIGNING_KEYS_FILE), and is
warned when that ring has no key that can sign now."""

from django.conf import settings
from django.core import checks
from django.utils import timezone

from certification.certificates import platform_keys


@checks.register()
def platform_key_ring_is_configured(app_configs, **kwargs) -> list[checks.CheckMessage]:
    configured = settings.PLATFORM_SIGNING_KEYS or settings.PLATFORM_SIGNING_KEYS_FILE
    if settings.PLATFORM_SIGNING_KEYS_GENERATE and not configured:
        return []  # the embedded default: its ring is in var/ (created on the first start)
    try:
        ring = platform_keys.keyring()
    except platform_keys.PlatformKeyError as exc:
        return [
            checks.Error(
                f"The platform signing keys are unusable: {exc}",
                hint="Give every process the same ring in PLATFORM_SIGNING_KEYS or "
                "PLATFORM_SIGNING_KEYS_FILE; `manage.py platform_key` prints a new key entry "
                "(docs/operations.md).",
                id="certification.E001",
            )
        ]
    return _ring_can_sign(ring)


def _ring_can_sign(ring: platform_keys.KeyRing) -> list[checks.CheckMessage]:
    """A warning, not an error: a ring of public keys only is right for a process that only
    publishes and verifies (web pods); only the certification workers sign."""
    try:
        ring.active(timezone.now())
    except platform_keys.PlatformKeyError as exc:
        return [
            checks.Warning(
                f"The platform key ring cannot sign certificates now: {exc} Every "
                "certification run that passes its stages would end in error "
                "(platform_key_unavailable).",
                hint='Make "active" the key_id of an entry with its private key, not revoked '
                "and within its not_before/not_after (README, Platform key rotation); a "
                "process that never signs may ignore this.",
                id="certification.W001",
            )
        ]
    return []
