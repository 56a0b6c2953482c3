"""Throttles per anonymous client, per user and per tenant, stored in the default cache.

Rates are read from settings on each request (not at import) so they can be configured
per deployment and overridden in tests.
"""

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
