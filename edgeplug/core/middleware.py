"""Give every request an id (or keep a sane one the client sent) and return it in a header."""

import re
import uuid

from edgeplug.core.error_views import nul_in_url
from edgeplug.core.logging import request_id_var

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


class RefuseNulInUrlMiddleware:
    """A NUL character (``%00``) in the path or the query string is refused before routing:
    ``400 nul_character`` under /api/ (as the API's parser refuses one in a body), a plain 400
    elsewhere. Passed on, it reached PostgreSQL through a path segment or a filter (a 500, even
    where the answer was a 403: the refusal's audit event names the path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value
            for key, values in request.GET.lists()
            for value in values
        ):
            return nul_in_url(request)
        return self.get_response(request)
