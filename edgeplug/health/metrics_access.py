"""Who may read /metrics: a scrape presenting ``Authorization: Bearer <METRICS_TOKEN>``.

The metrics tell task counts, request volumes and devices with usage gaps, so they are not
public. Without METRICS_TOKEN set they are open only where METRICS_OPEN_WITHOUT_TOKEN says so
(DEBUG by default; `make run` sets it); any other process answers
``403 metrics_not_configured`` and ``manage.py check`` warns at start (docs/operations.md,
Monitoring)."""

import hmac

from django.conf import settings
from django.core import checks

from edgeplug.errors import DomainError, Forbidden

# RFC 6750: the scheme a scrape must present the token with (case-insensitive).
SCHEME = "bearer"


class MetricsTokenRequired(DomainError, code="metrics_token_required", status=401):
    """No bearer token presented."""

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "WWW-Authenticate": "Bearer"}


class MetricsTokenInvalid(MetricsTokenRequired, code="metrics_token_invalid"):
    """A bearer token that is not METRICS_TOKEN."""


class MetricsNotConfigured(Forbidden, code="metrics_not_configured"):
    """A process with no METRICS_TOKEN, not opened by METRICS_OPEN_WITHOUT_TOKEN: nobody may
    read its metrics."""


NOT_CONFIGURED = (
    "/metrics is closed: METRICS_TOKEN is not set. Set it to a random value on every web "
    "process and give Prometheus the same value as its bearer token (docs/operations.md)."
)


def scrape_refusal(authorization: str) -> DomainError | None:
    """Why a scrape with this ``Authorization`` header may not read the metrics, or None.

    The presented token is compared in constant time and never logged nor repeated."""
    token = settings.METRICS_TOKEN
    if not token:
        return None if settings.METRICS_OPEN_WITHOUT_TOKEN else MetricsNotConfigured(NOT_CONFIGURED)
    scheme, _, presented = authorization.strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != SCHEME or not presented:
        return MetricsTokenRequired(
            "/metrics needs the header Authorization: Bearer <METRICS_TOKEN>."
        )
    if not hmac.compare_digest(presented.encode(), token.encode()):
        return MetricsTokenInvalid("The bearer token is not this deployment's METRICS_TOKEN.")
    return None


@checks.register(checks.Tags.security)
def metrics_token_is_set(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.METRICS_TOKEN or settings.METRICS_OPEN_WITHOUT_TOKEN:
        return []
    return [
        checks.Warning(
            "METRICS_TOKEN is not set: /metrics answers every scrape 403 "
            "metrics_not_configured, and Prometheus reads nothing.",
            hint="Set METRICS_TOKEN to one random value on every web process and give "
            "Prometheus the same value as its bearer token (docs/operations.md, Monitoring).",
            id="health.W001",
        )
    ]
