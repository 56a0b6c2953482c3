"""Give every request an id (or keep a sane one the client sent) and return it in a header;
keep the API's answers out of caches; refuse what no view should see of a URL (a NUL, a query
parameter the API does not publish) and an API body no view could read (one of unknown
length)."""

import re
import uuid

from django.conf import settings
from django.utils.cache import add_never_cache_headers

from edgeplug.core.error_views import error_response, is_api, nul_in_url
from edgeplug.core.logging import request_id_var
from edgeplug.core.published_parameters import published_parameters, refusal_of_query
from edgeplug.errors import LengthRequired

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # Not reset on the way out: Django logs failed requests after the middleware returns,
        # and those lines should carry the id too. The next request sets its own.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


class ApiAnswersNotStoredMiddleware:
    """Every answer under /api/ is never stored (Django's ``never_cache``: ``Cache-Control:
    no-store, private``, as the portal's and the admin's pages), unless its view says how it
    may be (the manifest's JSON Schema, public for an hour): a tenant's orders and invoices,
    its usage CSV, an invoice's PDF, a paid package, the tokens a sign-in answers, and the
    refusals too. One place, so a new operation or file cannot be left out; the files were
    sent without Cache-Control, where the payout CSV was ``no-store``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api(request) and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class RefuseBodyOfUnknownLengthMiddleware:
    """An API request whose body comes chunked (``Transfer-Encoding: chunked``) without a
    ``Content-Length`` is refused ``411 length_required`` before anything reads it. Django
    reads a body by its declared length, so it read none of this one: a plan's change sent so
    answered 200 unmade. Reading it instead would take trusting the WSGI server to end the
    stream (gunicorn's ``wsgi.input_terminated``; Django's own server does not) and checking
    every body's cap (JSON, forms, packages) as it is read rather than against its length:
    clients send a length for any body they hold (curl, requests, browsers, the CLI)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request) and _of_unknown_length(request.META):
            return error_response(LengthRequired())
        return self.get_response(request)


def _of_unknown_length(meta) -> bool:
    codings = meta.get("HTTP_TRANSFER_ENCODING", "").lower().split(",")
    return "chunked" in (coding.strip() for coding in codings) and not meta.get("CONTENT_LENGTH")


class RefuseNulInUrlMiddleware:
    """A NUL character (``%00``) in the path or the query string is refused before routing:
    ``400 nul_character`` under /api/ (as the API's parser refuses one in a body) and to a
    page's script, the portal's refusal page under /portal/, a plain 400 elsewhere. Passed
    on, it reached PostgreSQL through a path segment or a filter (a 500, even where the answer
    was a 403: the refusal's audit event names the path). The refusal names the query
    parameters whose values hold one (``field`` the one), as a body's field is named; a name
    holding one is no parameter, and is not echoed back as one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key for key in request.GET):
            return nul_in_url(request)
        if holding := {
            key for key, values in request.GET.lists() if any("\x00" in v for v in values)
        }:
            return nul_in_url(request, holding)
        return self.get_response(request)


class RefuseUnknownQueryParametersMiddleware:
    """An API request with a query parameter its operation does not publish in the OpenAPI
    schema (``edgeplug.core.published_parameters``) is refused ``400 unknown_parameter``,
    naming it and the ones the operation takes: a misspelt filter (``?statuss=refunded``,
    ``?page_sise=5``) was ignored, and the client took the unfiltered answer for the one it
    asked. Before the view, as an unknown ``?format=`` is refused before anything else. A
    parameter given twice is refused too (``400 repeated_parameter``): each takes one value
    (``published_parameters`` refuses a schema publishing a list), and the last one given
    was read alone. Only operations of the schema are checked (the schema and its docs page
    check their own, ``edgeplug.core.schema_views``): not a method the view does not answer
    (405), nor anything outside /api/."""

    def __init__(self, get_response):
        self.get_response = get_response
        # Built as the web process starts (half a second), not while its first API request
        # waits; a schema the check cannot read fails the start, not that request.
        published_parameters(settings.ROOT_URLCONF)

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.GET or not is_api(request):
            return None
        method = "GET" if request.method == "HEAD" else request.method  # HEAD answers as GET
        urlconf = getattr(request, "urlconf", None) or settings.ROOT_URLCONF
        published = published_parameters(urlconf).get((view_func, method))
        if published is None:
            return None
        refusal = refusal_of_query(request.GET, published)
        return None if refusal is None else error_response(refusal)
