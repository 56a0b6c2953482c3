"""Throttles per anonymous client, per user, per tenant and per device, stored in the default
cache.

Rates are read from settings on each request (not at import) so they can be configured
per deployment and overridden in tests.
"""

import contextlib
import fcntl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_framework import throttling
from rest_framework.settings import api_settings

from edgeplug.audit.services import client_ip
from edgeplug.core.cache_outage import CacheError, going_on_without
from edgeplug.errors import retry_seconds

# The sliding window of DRF's throttles (a request counts if it came less than the duration
# ago; a refused request is not counted), done in Redis in one round trip and atomically: DRF
# reads the history and writes it back (two round trips per throttle on every request, and
# concurrent requests can overwrite each other's). Returns {allowed, count, oldest}.
_SLIDING_WINDOW = """
local key, now, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, count, oldest[2]}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(window))
return {1, count + 1, ''}
"""
_scripts: dict[int, Any] = {}


def _window_script(cache):
    """The Redis script on ``cache``'s client, or None for a cache that is not Redis (the
    embedded default's file cache keeps DRF's history in the cache)."""
    client = getattr(cache, "client", None)
    if not hasattr(client, "get_client"):
        return None
    redis_client = client.get_client(write=True)
    script = _scripts.get(id(redis_client))
    if script is None:
        script = _scripts[id(redis_client)] = redis_client.register_script(_SLIDING_WINDOW)
    return script


_in_this_process = threading.Lock()


@contextlib.contextmanager
def _history_held(cache) -> Iterator[None]:
    """DRF's read of a throttle's history and its write back as one step on a cache that is
    not Redis: requests in between overwrote each other's, and got through beyond the rate.
    A lock for this process's threads and, on the file cache the embedded default's processes
    share, an exclusive ``flock`` on a file beside its entries (not a ``.djcache`` file: the
    cache never culls or clears it)."""
    with _in_this_process:
        directory = getattr(cache, "_dir", None)
        if directory is None:
            yield
            return
        Path(directory).mkdir(parents=True, exist_ok=True)
        with (Path(directory) / "throttles.lock").open("ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            yield


class _SettingsRateMixin:
    _window: tuple[int, float] | None = None  # (count, oldest) when Redis refused a request

    def get_ident(self, request):
        """The client address: the TCP peer (``REMOTE_ADDR``), as the audit log and the
        sign-in lockout read it (docs/security.md). DRF's own reads ``X-Forwarded-For``
        first, which any client may send: a new value a request was a fresh budget."""
        return client_ip(request) or ""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        script = _window_script(self.cache)
        if script is None:
            with _history_held(self.cache):
                return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        try:
            allowed, count, oldest = script(
                keys=[self.cache.make_key(f"{self.key}:window")],
                args=[repr(self.now), self.duration, self.num_requests, uuid.uuid4().hex],
            )
        except CacheError as exc:  # let it through: nothing counts requests meanwhile
            going_on_without(f"counting a request against the {self.scope} throttle", exc)
            return True
        if allowed:
            return True
        self._window = (int(count), float(oldest))
        return self.throttle_failure()

    def wait(self):
        # No estimate when the history outgrew a lowered rate: the whole window, at every
        # door (DRF's check_throttles answered "retry in 0 s" for it).
        if self._window is None:
            return super().wait() or self.duration
        count, oldest = self._window  # as DRF computes it from the history
        available = self.num_requests - count + 1
        if available <= 0:
            return self.duration
        return (self.duration - (self.now - oldest)) / float(available)


class AnonThrottle(_SettingsRateMixin, throttling.AnonRateThrottle):
    scope = "anon"


class UserThrottle(_SettingsRateMixin, throttling.UserRateThrottle):
    scope = "user"


class AuthThrottle(_SettingsRateMixin, throttling.AnonRateThrottle):
    """Login attempts, keyed by client address whether or not the caller is signed in."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def sign_in_throttled_message(wait: int) -> str:
    return f"Too many sign-in attempts: try again in {wait} s."


def _wait(throttle, request) -> int | None:
    """Count one request against ``throttle``: None while allowed, else the whole seconds to
    wait."""
    if throttle.allow_request(request, None):
        return None
    return retry_seconds(throttle.wait())


def sign_in_wait(request) -> int | None:
    """Seconds this client address must wait before another sign-in attempt, or None while
    it may try: one budget (``THROTTLE_AUTH``) for the API's token endpoints, the portal's
    sign-in and the admin's login, which count against it alike."""
    return _wait(AuthThrottle(), request)


def refused_credentials_wait(request) -> int | None:
    """Count a request whose credentials were refused (a revoked or unknown device token, an
    expired or forged access token) against its address's anonymous budget
    (``THROTTLE_ANON``), whatever the endpoint's own throttles: the caller is nobody yet, its
    address is all there is to count, and each refusal cost a token lookup. None while
    allowed, else the whole seconds to wait."""
    return _wait(AnonThrottle(), request)


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


def request_wait(request) -> int | None:
    """Count one request of a signed-in caller against the API's budgets per user
    (``THROTTLE_USER``) and per tenant (``THROTTLE_TENANT``): None while allowed, otherwise
    the whole seconds to wait.

    These are the classes the API runs, keyed the same way (the user's pk, the pk of
    ``request.tenant``: set it first), so a page and the API draw on one budget. As DRF's
    ``check_throttles`` does, every throttle counts the request even when another refuses it,
    and the longest wait wins."""
    waits = []
    for throttle in (UserThrottle(), TenantThrottle()):
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait())
    if not waits:
        return None
    return retry_seconds(max(waits))


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
    return throttle.wait()
