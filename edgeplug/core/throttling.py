"""Throttles per anonymous client, per user, per tenant and per device, stored in the default
cache.

Rates are read from settings on each request (not at import) so they can be configured
per deployment and overridden in tests.
"""

from dataclasses import dataclass
from typing import Any

from rest_framework import throttling
from rest_framework.settings import api_settings


class _SettingsRateMixin:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_SettingsRateMixin, throttling.AnonRateThrottle):
    scope = "anon"


class UserThrottle(_SettingsRateMixin, throttling.UserRateThrottle):
    scope = "user"


class AuthThrottle(_SettingsRateMixin, throttling.AnonRateThrottle):
    """Login attempts, keyed by client address whether or not the caller is signed in."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TenantThrottle(_SettingsRateMixin, throttling.SimpleRateThrottle):
    """All members of a tenant share one budget."""

    scope = "tenant"

    def get_cache_key(self, request, view):
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": tenant.pk}


class DeviceThrottle(_SettingsRateMixin, throttling.SimpleRateThrottle):
    """Each device token has its own budget (usage reports over REST and gRPC share it), so
    one chatty device slows no other device of its tenant."""

    scope = "device"

    def get_cache_key(self, request, view):
        device_id = getattr(request.auth, "pk", None)
        if device_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": device_id}


@dataclass(frozen=True)
class _Call:
    """What a throttle reads of a request, for doors without a DRF request (gRPC)."""

    auth: Any


def device_wait(device: Any) -> float | None:
    """Count one call of ``device`` against its budget: None if allowed, otherwise the seconds
    to wait before the next call is (the same budget as ``DeviceThrottle`` on REST)."""
    throttle = DeviceThrottle()
    if throttle.allow_request(_Call(device), None):
        return None
    return throttle.wait() or 1.0
