"""The one base class of every EdgePlug error: a stable ``code``, an HTTP ``status``, a ``detail``.

Pure Python (no Django), so the package-format library, the signing primitives and the vendor
CLI share it with the server. The API renders any of these as ``{"code", "detail", ...}`` in one
exception handler (``edgeplug.core.exceptions``). A subclass names its code and status in the
class statement::

    class VersionExists(Conflict, code="version_exists"):
        \"\"\"Same name and version, other bytes.\"\"\"
"""

from __future__ import annotations

import math
from typing import Any, ClassVar


def retry_seconds(wait: float) -> int:
    """A wait as every door tells it (``Retry-After``, gRPC's ``RetryInfo``, a message's
    "retry in N s"): whole seconds, rounded up, never "retry in 0 s"."""
    return max(1, math.ceil(wait))


class DomainError(Exception):
    """Raised by domain functions; ``as_dict`` is the JSON body of the refusal."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init_subclass__(cls, *, code: str | None = None, status: int | None = None, **kw):
        super().__init_subclass__(**kw)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc] - a per-instance code for generic errors
        if status is not None:
            self.status = status  # type: ignore[misc]

    def extra(self) -> dict[str, Any]:
        """Fields a subclass adds to the JSON body (empty ones are left out)."""
        return {}

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.detail}
        body.update({k: v for k, v in self.extra().items() if v not in (None, "", (), [])})
        return body


class BadRequest(DomainError, code="bad_request", status=400):
    """The request itself is wrong: a missing header, an unknown name, a malformed value."""


class NotFound(DomainError, code="not_found", status=404):
    """The object does not exist, or belongs to another tenant."""


class Conflict(DomainError, code="conflict", status=409):
    """The request clashes with the object's current state."""


class Forbidden(DomainError, code="permission_denied", status=403):
    """The caller may not do this."""


class Unprocessable(DomainError, code="unprocessable", status=422):
    """Well-formed, but refused by a rule."""


class NulCharacter(BadRequest, code="nul_character"):
    """Text holding U+0000, which PostgreSQL cannot store (``edgeplug.text.holds_nul``)."""


class ReasonRequired(DomainError, code="reason_required"):
    """A decision (a review, a void, a yank, hiding a review) was given no reason."""


class ReasonTooLong(DomainError, code="reason_too_long"):
    """The reason does not fit where the decision records it."""


class Throttled(DomainError, code="throttled", status=429):
    """Too many requests: ``retry_after`` is how many seconds to wait (the API sends it as the
    ``Retry-After`` header too), in whole seconds as :func:`retry_seconds` gives them."""

    def __init__(self, detail: str, *, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_seconds(retry_after)


class Unavailable(DomainError, code="unavailable", status=503):
    """A service the operation needs is down; retrying later may work."""


class DatabaseUnavailable(Unavailable, code="database_unavailable"):
    """The database connection broke during the request (a failover, a restart, a killed
    backend). Whatever the request wrote was rolled back unless its commit had already
    reached the server; either way, sending the same request again is safe for the
    operations clients retry (usage batches are keyed by device and sequence)."""

    retry_after = 1

    def __init__(self, detail: str = ""):
        super().__init__(
            detail
            or "The database connection was lost while answering; send the same request again."
        )
