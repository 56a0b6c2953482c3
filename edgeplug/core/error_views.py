"""Django's own error pages (handler400/403/404/500) as {"code", "detail"} JSON under /api/.

DRF renders errors raised in its views; these cover what happens outside them: unknown
paths, requests Django refuses to read (RequestDataTooBig, TooManyFieldsSent,
TooManyFilesSent: in a middleware reading the query string or before a view parses its
body), and crashes.
Pages outside the API keep Django's HTML, but for a 404 and a 403: a part of the site with a
page of its own names it in ``settings.NOT_FOUND_PAGES`` (the vendor portal's, in its frame;
elsewhere templates/404.html) and ``settings.PERMISSION_DENIED_PAGES`` (the admin's, in its
frame). A 403 is audited as ``permission_denied`` either way. A form sent with a
stale CSRF token (``csrf_failure``) is answered likewise: JSON for a script, the portal's page
in its frame; and so is a domain error a plain view refuses with (``refusal``,
``settings.REFUSAL_PAGES``). Such a page is never stored (``Cache-Control: no-store``), as
the pages of its part of the site are.
"""

import sys
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils.module_loading import import_string
from django.views import csrf, defaults
from django.views.decorators.cache import never_cache
from rest_framework import exceptions as drf_exceptions

from edgeplug.audit.services import record_denial
from edgeplug.core.parsers import unread_request_refusal
from edgeplug.core.reconnect import LOST
from edgeplug.errors import (
    BadRequest,
    DatabaseUnavailable,
    DomainError,
    Forbidden,
    NotFound,
    NulCharacter,
    NulInParameters,
)

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def wants_json(request) -> bool:
    """A page's own script sent this (the portal's upload form does, to show progress): it
    reads JSON."""
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _own_page(pages: dict[str, str], request):
    """The view of ``pages`` (a setting: path prefix -> view) for the part of the site the
    request is on, or None where that part has no page of its own. Its answer is never stored
    (``never_cache``): the page is in that part's frame, which shows who is signed in, and
    comes after the view's own ``never_cache`` (a 404 or 403 raised in it) or before it ran."""
    for prefix, view in pages.items():
        if request.path.startswith(prefix):
            return never_cache(import_string(view))
    return None


def error_response(error: DomainError) -> JsonResponse:
    """A domain error answered outside a DRF view, as the API's handler answers it inside one
    (its body, its status, and ``Retry-After`` for one the client may retry)."""
    return JsonResponse(error.as_dict(), status=error.status, headers=error.headers())


def refusal_page_response(request, template: str, context: dict, error: DomainError):
    """A page answering a domain error, ``error`` in its ``context``, as ``error_response``
    answers it in JSON: the error's status, and ``Retry-After`` for one the client may retry."""
    content = render_to_string(template, {**context, "error": error}, request)
    return HttpResponse(content, status=error.status, headers=error.headers())


def refusal(request, error: DomainError, *, elsewhere=error_response) -> HttpResponse:
    """A domain error a plain view (not DRF's) refuses with, answered as its caller reads it:
    under /api/ and to a page's script, ``error_response``'s JSON; on a part of the site with
    a page of its own (``settings.REFUSAL_PAGES``, by path prefix) that page, in its frame,
    with the error's status; elsewhere, ``elsewhere(error)`` (that JSON, by default)."""
    if is_api(request) or wants_json(request):
        return error_response(error)
    if page := _own_page(settings.REFUSAL_PAGES, request):
        return page(request, error)
    return elsewhere(error)


def _plain_text(error: DomainError) -> HttpResponse:
    return HttpResponseBadRequest(error.detail, content_type="text/plain; charset=utf-8")


def nul_in_url(request, parameters: Iterable[str] = ()):
    """``RefuseNulInUrlMiddleware``'s refusal, naming the query ``parameters`` whose values hold
    the NUL if it gives them: as ``refusal`` answers it, and as plain text outside the API and
    the parts of the site with pages of their own."""
    if parameters:
        error = NulInParameters(parameters)
    else:
        error = NulCharacter("The URL may not contain the NUL character (%00).")
    return refusal(request, error, elsewhere=_plain_text)


def bad_request(request, exception=None):
    if not is_api(request):
        return defaults.bad_request(request, exception)
    if refusal := unread_request_refusal(request, exception):
        return error_response(refusal)
    return error_response(BadRequest("The request could not be understood."))


def permission_denied(request, exception=None):
    """A ``PermissionDenied`` raised outside a DRF view (the admin's own refusals and those of
    the project's admin pages, for one), audited as the API's and the portal's 403s are; one
    raised with an action's ``Forbidden`` is audited with its code and says its sentence."""
    detail = str(exception) if exception is not None and exception.args else ""
    refusal = exception.args[0] if detail else None
    if isinstance(refusal, DomainError):  # an action's own refusal: its code, its sentence
        detail = refusal.detail
        record_denial(request, code=refusal.code, detail=detail)
    else:
        record_denial(request, detail=detail)
    if is_api(request):
        return error_response(Forbidden(str(drf_exceptions.PermissionDenied.default_detail)))
    if page := _own_page(settings.PERMISSION_DENIED_PAGES, request):
        return page(request, detail)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if is_api(request):
        return error_response(NotFound("Not found."))
    if page := _own_page(settings.NOT_FOUND_PAGES, request):
        return page(request)
    return defaults.page_not_found(request, exception)


class CsrfFailed(Forbidden, code="csrf_failed"):
    """A form sent with a stale CSRF token."""

    def __init__(self):
        super().__init__(
            "This form's page is older than your sign-in (you signed in again in another tab, "
            "or the page was left open): reload the page and send the form again."
        )


class ServerError(DomainError, code="server_error", status=500):
    """A crash outside a DRF view, under /api/."""


def csrf_failure(request, reason: str = ""):
    """``CSRF_FAILURE_VIEW``: a form sent with a stale CSRF token. Sent by a script (an upload's
    XMLHttpRequest) or to the API: ``403 csrf_failed`` as JSON it can show; on a part of the
    site with a page of its own (``settings.CSRF_FAILURE_PAGES``, by path prefix) that page,
    in its frame; else Django's own."""
    if is_api(request) or wants_json(request):
        return error_response(CsrfFailed())
    if page := _own_page(settings.CSRF_FAILURE_PAGES, request):
        return page(request, CsrfFailed())
    return csrf.csrf_failure(request, reason=reason)


def server_error(request):
    if not is_api(request):
        return defaults.server_error(request)
    # A database lost outside a DRF view (a middleware, a plain view) is still the 503 the
    # API answers inside one. Django calls this while handling the exception.
    if isinstance(sys.exc_info()[1], LOST):
        return error_response(DatabaseUnavailable())
    return error_response(ServerError("Internal server error."))
