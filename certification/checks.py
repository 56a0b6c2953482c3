"""System checks: a deployment that is not the embedded default starts only with the platform
key ring its processes share (PLATFORM_SIGNING_KEYS or PLATFORM_SIGNING_KEYS_FILE)."""

from django.conf import settings
from django.core import checks

from certification.certificates import platform_keys


@checks.register()
def platform_key_ring_is_configured(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.PLATFORM_SIGNING_KEYS_GENERATE:
        return []  # the embedded default: its ring is in var/ (created on the first start)
    try:
        platform_keys.keyring()
    except (OSError, platform_keys.PlatformKeyError) as exc:
        return [
            checks.Error(
                f"The platform signing keys are unusable: {exc}",
                hint="Give every process the same ring in PLATFORM_SIGNING_KEYS or "
                "PLATFORM_SIGNING_KEYS_FILE; `manage.py platform_key` prints a new key entry "
                "(docs/operations.md).",
                id="certification.E001",
            )
        ]
    return []
