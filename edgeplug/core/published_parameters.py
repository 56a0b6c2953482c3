"""The query parameters each API operation publishes, read from the OpenAPI schema itself.

drf-spectacular builds the schema the API serves from the views: filters (django-filter's
filter sets), pagination, ordering, ``format`` and what a view declares with
``extend_schema(parameters=...)``. ``published_parameters`` builds that same schema once per
URL conf and keeps, for each operation, the names of its query parameters, keyed by the view
a request resolves to and the method: what ``RefuseUnknownQueryParametersMiddleware`` accepts.
A parameter the schema gains or loses is accepted or refused with it, so the two cannot
disagree.
"""

import threading
from collections.abc import Callable, Set

from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict
from drf_spectacular.settings import spectacular_settings

from edgeplug.errors import EachNamed, RepeatedParameter, UnknownParameter

# (the URL pattern's view, the HTTP method) -> the names of the operation's query parameters
Published = dict[tuple[Callable, str], frozenset[str]]

_built: dict[str, Published] = {}
_building = threading.Lock()


def refusal_of_query(query: QueryDict, takes: Set[str]) -> EachNamed | None:
    """What refuses ``query``, sent to an operation that takes the parameters ``takes``, each
    once: a parameter it does not take (``unknown_parameter``), else one given twice
    (``repeated_parameter``); None if nothing does. The API's operations and the schema's
    own views (``edgeplug.core.schema_views``) read their query strings by this one rule."""
    if unknown := set(query) - takes:
        return UnknownParameter(unknown, takes)
    if repeated := {name for name, values in query.lists() if len(values) > 1}:
        return RepeatedParameter(repeated)
    return None


def published_parameters(urlconf: str) -> Published:
    """The query parameters of every operation the schema of ``urlconf`` publishes, by view
    and method; built on first use (the schema takes half a second), then kept."""
    try:
        return _built[urlconf]
    except KeyError:
        with _building:
            if urlconf not in _built:
                _built[urlconf] = _from_schema(urlconf)
            return _built[urlconf]


def _from_schema(urlconf: str) -> Published:
    # Built as SpectacularAPIView builds it, with every operation (``public``) whoever asks.
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS(urlconf=urlconf)
    paths = generator.get_schema(request=None, public=True)["paths"]
    published: Published = {}
    # ``endpoints`` holds the view of each path and method, the path as the URL pattern gives
    # it; the schema's path is that path coerced ({pk} -> {id}), as the generator does.
    for path, _, method, callback in generator.endpoints:
        view = generator.create_view(callback, method)
        operation = paths.get(generator.coerce_path(path, method, view), {}).get(method.lower())
        if operation is not None:  # else left out of the schema: not an operation of the API
            query = [p for p in operation.get("parameters", ()) if p["in"] == "query"]
            if lists := [p["name"] for p in query if p["schema"].get("type") == "array"]:
                # The middleware refuses a repeated parameter: each takes one value.
                raise ImproperlyConfigured(
                    f"{method} {path} publishes the query parameters {lists} as lists: "
                    "RefuseUnknownQueryParametersMiddleware refuses a parameter given twice."
                )
            published[callback, method] = frozenset(parameter["name"] for parameter in query)
    operations = sum(len(item) for item in paths.values())
    if len(published) != operations:
        # A schema path no endpoint gives (SCHEMA_PATH_PREFIX_TRIM, camelized names...):
        # its operation's parameters would go unchecked.
        raise ImproperlyConfigured(
            f"{operations - len(published)} operations of the schema of {urlconf} match no "
            "URL pattern: the query parameters they publish cannot be checked."
        )
    return published
