"""The OpenAPI schema (/api/v1/schema/) and its Swagger UI (/api/v1/docs/): drf-spectacular's
views, with the API's JSON errors, refusing a query parameter they do not read as every API
operation does (``400 unknown_parameter``)."""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from edgeplug.core.renderers import JsonErrorsMixin
from edgeplug.errors import UnknownParameter


class _TakesOnly:
    """The query parameters the view reads (``takes``); another is refused, not ignored."""

    takes: frozenset[str]

    def initial(self, request, *args, **kwargs):
        if unknown := set(request.GET) - self.takes:
            raise UnknownParameter(unknown, self.takes)
        super().initial(request, *args, **kwargs)


class SchemaView(_TakesOnly, JsonErrorsMixin, SpectacularAPIView):
    """Answers YAML (the default) or JSON; a refusal (``?format=xml``, an ``Accept`` it cannot
    answer, another method) is ``{"code", "detail"}`` JSON, not a YAML document."""

    takes = frozenset({"format", "lang", "version"})


class SwaggerUiView(_TakesOnly, JsonErrorsMixin, SpectacularSwaggerSplitView):
    """An HTML page, and its script (``?script``); its refusals are JSON like every other
    error under /api/v1/."""

    takes = frozenset({"format", "lang", "version", "script"})
