"""One exception handler for the whole API: every error becomes {"code": ..., "detail": ...}."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.authentication import get_authorization_header
from rest_framework.response import Response
from rest_framework.views import exception_handler

from edgeplug.accounts.errors import AccountLocked
from edgeplug.core.parsers import unread_request_refusal
from edgeplug.core.reconnect import LOST
from edgeplug.errors import (
    FIELD_NUL_CODE,
    DatabaseUnavailable,
    DomainError,
    NulCharacter,
    the_one_field,
)

logger = logging.getLogger(__name__)
_GENERIC_CODES = {"invalid", "error"}


def _first_leaf(detail: Any) -> tuple[str, str]:
    """The first (message, code) pair in a nested DRF error structure."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            message, code = _first_leaf(value)
            if key not in ("non_field_errors",) and not message.startswith(f"{key}:"):
                message = f"{key}: {message}"
            return message, code
    if isinstance(detail, list) and detail:
        return _first_leaf(detail[0])
    if isinstance(detail, exceptions.ErrorDetail):
        # Messages may quote the input; a NUL byte is never echoed back raw.
        return str(detail).replace("\x00", "\\x00"), detail.code or "invalid"
    return str(detail), "invalid"


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, LOST):
        # The platform's failure, not the request's: a 503 the client may retry, not a 500
        # that reads as a bug. Django drops a broken connection at the end of the request (one
        # to a server that cannot write too: edgeplug.core.reconnect), the next one opens a
        # fresh one.
        logger.warning("database unavailable during %s: %s", _where(context), exc)
        exc = DatabaseUnavailable()
    # A body Django would not read (too large, too many fields or files): a refusal like any
    # other (Django's own handling logs it as an ERROR, with a traceback, as a crash).
    exc = unread_request_refusal(context["request"], exc) or exc
    if isinstance(exc, DomainError):
        if exc.status == status.HTTP_403_FORBIDDEN:
            _audit_denial(exc, context, exc.code, exc.detail)
        return Response(exc.as_dict(), status=exc.status, headers=exc.headers())
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.PermissionDenied):
        _audit_denial(exc, context, *code_and_detail(exc))

    if isinstance(exc, exceptions.ValidationError):
        message, code = _first_leaf(exc.detail)
        if code == FIELD_NUL_CODE:
            # A form or multipart field's NUL, refused by the field's own validator: the code
            # the JSON parser, the URL check and the portal give it.
            code = NulCharacter.code
        response.data = {"code": code, "detail": message, "errors": exc.detail}
        if field := the_one_field(exc.detail):
            response.data["field"] = field
        return response

    code, detail = code_and_detail(exc)
    request = context.get("request")
    if isinstance(exc, exceptions.NotAuthenticated) and request is not None:
        detail = _wrong_door(request, context.get("view")) or detail
    response.data = {"code": code, "detail": detail}
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        response.data["retry_after"] = int(getattr(exc, "wait", 0) or 0)
    return response


# The scheme of a device's token, ``Authorization: Device <token>``.
DEVICE_SCHEME = b"device"


def device_words(authorization: bytes) -> list[bytes] | None:
    """The words of an ``Authorization`` value sent by the Device scheme, else None (whether
    or not the token is good): how the REST and gRPC doors alike read what a device sent."""
    words = authorization.split()
    return words if words and words[0].lower() == DEVICE_SCHEME else None


def device_token(words: list[bytes]) -> str | None:
    """The token in a Device header's words: the one word after the scheme, else None (none
    was sent, or more than one word)."""
    return words[1].decode("latin-1") if len(words) == 2 else None


def device_header(request) -> list[bytes] | None:
    """The words of the request's ``Authorization: Device …`` header, else None: what
    marketplace's device authentication reads, and what tells a person's endpoint that a
    device called it."""
    return device_words(get_authorization_header(request))


PEOPLE_ONLY_DETAIL = (
    "A device token is not accepted here: this endpoint is for people, signed in with "
    "Authorization: Bearer <access token from POST /api/v1/auth/token>."
)


DEVICES_ONLY_DETAIL = (
    "A person's token is not accepted here: this endpoint is for devices, with "
    "Authorization: Device <token> (POST /api/v1/devices/{id}/rotate-token issues one)."
)


# How a device sends its token, said to one that sent none, or sent it otherwise (without the
# word Device, say): the REST and gRPC doors alike.
DEVICE_CREDENTIALS_DETAIL = (
    "Send Authorization: Device <token> (the word Device, a space, then the device's token)."
)


def device_credentials_detail(authorization: bytes) -> str:
    """What a device's endpoint tells a caller whose ``Authorization`` value is no device's
    token: a person's Bearer token that the endpoint is for devices, anything else how a device
    sends its token. The REST and gRPC doors alike."""
    scheme = authorization.split()[:1]
    if scheme and scheme[0].lower() == b"bearer":
        return DEVICES_ONLY_DETAIL
    return DEVICE_CREDENTIALS_DETAIL


def _wrong_door(request, view) -> str | None:
    """Credentials were sent, but of the other kind (a device's token to a person's
    endpoint, or a person's Bearer token to a device's) or not as a device sends its own:
    say so rather than "not provided". A device's endpoint called with none is told how a
    device sends its token, as the gRPC door tells it."""
    device_only = view is not None and view.get_authenticate_header(request) == "Device"
    if not device_only:
        return PEOPLE_ONLY_DETAIL if device_header(request) else None
    if device_header(request):
        return None  # the device door said what is wrong
    return device_credentials_detail(get_authorization_header(request))


def code_and_detail(exc: exceptions.APIException) -> tuple[str, str]:
    """The ``code`` and ``detail`` the API answers for a DRF error other than a validation
    error; the gRPC door that authenticates as the API does (the run watch) says the same."""
    detail = exc.detail
    code = getattr(detail, "code", None) or exc.default_code
    if isinstance(detail, dict):
        # simplejwt puts {"detail", "code", "messages"} in the detail of its token errors.
        code = str(detail.get("code", code))
        detail = detail.get("detail", detail)
    if isinstance(exc, exceptions.ParseError) and code == "parse_error":
        code = "malformed_request"
    return str(code), str(detail)


def _where(context: dict) -> str:
    request = context.get("request")
    return f"{request.method} {request.path}" if request is not None else "a request"


def _audit_denial(exc: Exception, context: dict, code: str, detail: str) -> None:
    """Every 403 the API answers is a ``permission_denied`` event, as the portal's and the
    admin's are; a refused sign-in (``account_locked``) is not a denial of something to a
    caller but a sign-in failure, audited as such (``accounts.signals``)."""
    from edgeplug.audit.services import record_denial

    request = context.get("request")
    if request is None or isinstance(exc, AccountLocked):
        return
    record_denial(request, code=code, detail=detail)
