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
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar


def retry_seconds(wait: float) -> int:
    """A wait as every door tells it (``Retry-After``, gRPC's ``RetryInfo``, a message's
    "retry in N s"): whole seconds, rounded up, never "retry in 0 s"."""
    return max(1, math.ceil(wait))


class DomainError(Exception):
    """Raised by domain functions; ``as_dict`` is the JSON body of the refusal."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    # The request field the refusal is about, if one: the body's ``field``; the portal and the
    # admin mark that field in their forms and put the focus on it.
    field: str = ""
    # Whole seconds the client may retry after (``retry_seconds``), if the refusal is one to
    # retry: the body's ``retry_after``, ``Retry-After`` (``headers``) and gRPC's RetryInfo.
    retry_after: int | None = None

    def __init_subclass__(cls, *, code: str | None = None, status: int | None = None, **kw):
        super().__init_subclass__(**kw)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc] - a per-instance code for generic errors
        if status is not None:
            self.status = status  # type: ignore[misc]
        if field is not None:
            self.field = field
        if retry_after is not None:
            self.retry_after = retry_seconds(retry_after)

    def extra(self) -> dict[str, Any]:
        """Fields a subclass adds to the JSON body (empty ones are left out)."""
        return {}

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.detail}
        extra = {"field": self.field, "retry_after": self.retry_after, **self.extra()}
        body.update({k: v for k, v in extra.items() if v not in (None, "", (), [])})
        return body

    def headers(self) -> dict[str, str]:
        """The HTTP headers every door answers the refusal with: ``Retry-After`` for one the
        client may retry."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class BadRequest(DomainError, code="bad_request", status=400):
    """The request itself is wrong: a missing header, an unknown name, a malformed value."""


class NotFound(DomainError, code="not_found", status=404):
    """The object does not exist, or belongs to another tenant."""


class UnknownReference(BadRequest, code="unknown_reference"):
    """The one rule for an id or key that names nothing the caller may see.

    - In the URL path it names the object the request is about: nothing the caller may see
      there is ``404 not_found`` (``edgeplug.tenancy.scoping.get_for_request``).
    - In the request body or the query string it names another object the request uses or
      filters by (an order's ``agent`` and ``plan``, a deployment's ``version``, a member's
      ``email``, ``?agent=`` on a list): nothing the caller may see there, whether nothing
      at all or another tenant's object, is this error, ``400 unknown_<thing>``, the same
      answer for both, its detail naming the field (``edgeplug.tenancy.scoping.
      get_referenced`` looks the object up and raises it). A subclass names its thing::

          class UnknownPlan(UnknownReference, code="unknown_plan", thing="plan"): ...

    - Inside a signed uploaded document (a package's manifest, a WPK's steps, the key id of
      a signature) a name is part of the content: a name there that matches nothing is a
      content error of that document and keeps its documented status and code (``422
      unknown_key``, ``422 unknown_step_agent`` of a WPK step), not this error.
    """

    thing: ClassVar[str] = "object"

    def __init_subclass__(cls, *, thing: str | None = None, **kw):
        super().__init_subclass__(**kw)
        if thing is not None:
            cls.thing = thing

    def __init__(self, field: str, value: object, *, detail: str = ""):
        detail = detail or f"there is no {self.thing} {value!r} that you can see."
        super().__init__(f"{field}: {detail}", field=field)


# What ``unknown_field`` says of each field it names, whichever check refuses it (a
# serializer's, ``edgeplug.core.serializers.refuse_body``'s).
UNKNOWN_FIELD = "Unknown field."


def the_one_field(errors: object) -> str | None:
    """The request field (body field or query parameter) a refusal's ``errors`` is about when
    they name exactly one (``non_field_errors`` is none): its ``field`` then, as a refusal
    about one field names it whichever check refused it (README), ``errors`` kept."""
    if isinstance(errors, Mapping) and len(errors) == 1:
        (name,) = errors
        return None if name == "non_field_errors" else str(name)
    return None


class EachNamed(BadRequest):
    """A refusal of several names of the request (query parameters, body fields), ``errors``
    saying ``said`` of each, sorted: ``names_text`` lists them for the detail (and ``field``
    the one, when only one is named)."""

    said = ""

    def __init__(self, names: Iterable[str], detail: str):
        self.names = sorted(names)
        super().__init__(detail, field=the_one_field(dict.fromkeys(self.names)))

    @staticmethod
    def names_text(names: Iterable[str]) -> str:
        return ", ".join(repr(name) for name in sorted(names))

    def extra(self) -> dict[str, Any]:
        return {"errors": {name: [self.said] for name in self.names}}


class UnknownParameter(EachNamed, code="unknown_parameter"):
    """A query parameter the operation does not publish in the API's schema (a misspelt filter,
    ``?statuss=refunded``): refused, as a body field it does not know is (``unknown_field``).
    Ignored, it answered as if nothing had been asked, and the client took the unfiltered
    list for the filtered one. ``errors`` names each such parameter, as ``unknown_field``'s
    names each field; the detail lists the parameters the operation takes."""

    said = "Unknown parameter."

    def __init__(self, unknown: Iterable[str], published: Iterable[str]):
        unknown = set(unknown)
        noun = "parameter" if len(unknown) == 1 else "parameters"
        takes = ", ".join(sorted(published)) or "no query parameters"
        super().__init__(
            unknown,
            f"Unknown query {noun} {self.names_text(unknown)}: this operation takes {takes}.",
        )


class BodyNotTaken(EachNamed, code="unknown_field"):
    """A body sent to an operation that takes none (revoking a device, rotating its token):
    each field it names is unknown, as a body field an operation does not take is. Accepted,
    the operation went ahead and dropped what the client meant it to read (a reason)."""

    said = UNKNOWN_FIELD

    def __init__(self, fields: Iterable[str]):
        fields = set(fields)
        super().__init__(
            fields, f"This operation takes no body: unknown field {self.names_text(fields)}."
        )


class UnreadableBody(BadRequest, code="malformed_request"):
    """A body that is not JSON, a form or nothing, sent to an operation that takes none: it
    went ahead on a request that is not what its client meant to send."""


class RepeatedParameter(EachNamed, code="repeated_parameter"):
    """A query parameter given more than once (``?status=active&status=revoked``): every
    parameter of the API takes one value, and the last one was read alone, so the client took
    a list filtered on one of its values for the list it asked. ``errors`` names each one."""

    said = "Give this parameter once."

    def __init__(self, repeated: Iterable[str]):
        repeated = set(repeated)
        super().__init__(
            repeated,
            f"Give each query parameter once: {self.names_text(repeated)} came more than once.",
        )


class TooManyParameters(BadRequest, code="too_many_parameters"):
    """A query string of more parameters than the server reads (Django's
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS``): it reads none of them."""

    def __init__(self, limit: int):
        super().__init__(f"A request may send at most {limit} query parameters.")


class TooManyFormFields(BadRequest, code="too_many_fields"):
    """A form body (urlencoded or multipart) of more fields than the server reads (Django's
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS``; files are counted apart): it reads none of them."""

    def __init__(self, limit: int):
        super().__init__(f"A form may send at most {limit} fields (files aside).")


class TooManyFiles(BadRequest, code="too_many_files"):
    """A multipart body of more files than the server reads (Django's
    ``DATA_UPLOAD_MAX_NUMBER_FILES``): it reads none of them."""

    def __init__(self, limit: int):
        super().__init__(f"A form may send at most {limit} files.")


class Conflict(DomainError, code="conflict", status=409):
    """The request clashes with the object's current state."""


class Forbidden(DomainError, code="permission_denied", status=403):
    """The caller may not do this."""


class PayloadTooLarge(DomainError, code="payload_too_large", status=413):
    """A request body larger than the server takes (``API_MAX_JSON_BYTES`` for JSON, Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` for a form, a gRPC batch as large as a REST body may be)."""


class LengthRequired(DomainError, code="length_required", status=411):
    """A request body sent without its length (``Transfer-Encoding: chunked``, no
    ``Content-Length``): Django reads a body by its declared length, so it would read none,
    and the operation would go ahead without what the client sent."""

    def __init__(
        self,
        detail: str = "A request body must declare its length (Content-Length); "
        "a chunked body without one is not read.",
        **kw,
    ):
        super().__init__(detail, **kw)


class Unprocessable(DomainError, code="unprocessable", status=422):
    """Well-formed, but refused by a rule."""


class NulCharacter(BadRequest, code="nul_character"):
    """Text holding U+0000, which PostgreSQL cannot store (``edgeplug.text.holds_nul``).
    Django's form and DRF fields refuse it with their own validator's code,
    ``FIELD_NUL_CODE``: the API's exception handler and the portal's forms answer that as
    this error, so every door says ``nul_character``."""

    def __init__(self, detail: str | None = None, **kw):
        default = "Strings may not contain the NUL character (\\u0000)."
        super().__init__(detail or _of_field(kw.get("field"), default), **kw)


class NulInParameters(EachNamed, NulCharacter, code="nul_character"):
    """A NUL (``%00``) in the value of query parameters: ``errors`` names each, and ``field``
    the one, as a NUL in a body's field names it (it named none)."""

    said = "May not contain the NUL character (%00)."

    def __init__(self, names: Iterable[str]):
        names = set(names)
        noun = "parameter" if len(names) == 1 else "parameters"
        super().__init__(
            names,
            f"Query {noun} {self.names_text(names)} may not contain the NUL character (%00).",
        )


class SurrogateCharacter(BadRequest, code="surrogate_character"):
    """Text holding half a UTF-16 pair (JSON's ``\\ud800`` with no partner): no character,
    which no UTF-8 text column stores (``edgeplug.text.holds_lone_surrogate``)."""

    def __init__(self, detail: str | None = None, **kw):
        default = "Strings may not contain a lone surrogate (\\ud800 to \\udfff)."
        super().__init__(detail or _of_field(kw.get("field"), default), **kw)


def _of_field(field: str | None, detail: str) -> str:
    """The default ``detail`` said of ``field`` (``name: ...``) when the refusal names one; a
    detail given (the portal's, naming the field by its label) is kept as it is."""
    return f"{field}: {detail}" if field else detail


FIELD_NUL_CODE = "null_characters_not_allowed"  # django.core.validators.ProhibitNullCharacters


class ReasonRequired(DomainError, code="reason_required"):
    """A decision (a review, a void, a yank, hiding a review) was given no reason."""


class ReasonTooLong(DomainError, code="reason_too_long"):
    """The reason does not fit where the decision records it."""


class InvalidReason(DomainError, code="invalid_reason"):
    """The reason holds a character that would have others read it otherwise than it was
    written (``edgeplug.text.unprintable``: a control or bidirectional character)."""


class Throttled(DomainError, code="throttled", status=429):
    """Too many requests: ``retry_after`` is how many seconds to wait (the API sends it as the
    ``Retry-After`` header too), in whole seconds as :func:`retry_seconds` gives them."""


class Unavailable(DomainError, code="unavailable", status=503):
    """A service the operation needs is down; retrying later may work."""


class BrokerUnavailable(Unavailable, code="broker_unavailable"):
    """The task queue (the broker) refused work the request asked for: nothing was queued,
    and nothing that says it was is kept. Asking again once the broker is back is safe."""

    retry_after = 5


class DatabaseUnavailable(Unavailable, code="database_unavailable"):
    """The database connection broke during the request (a failover, a restart, a killed
    backend), or reached a server that cannot write (a standby, after a failover). Whatever
    the request wrote was rolled back unless its commit had already reached the server;
    either way, sending the same request again is safe for the operations clients retry
    (usage batches are keyed by device and sequence)."""

    retry_after = 1

    def __init__(self, detail: str = ""):
        super().__init__(
            detail
            or "The database could not serve this request (its connection was lost, or it"
            " cannot write now); send the same request again."
        )
