"""The OpenAPI schema (/api/v1/schema/) and its Swagger UI (/api/v1/docs/): drf-spectacular's
views, with the API's JSON errors."""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from edgeplug.core.renderers import JsonErrorsMixin


class SchemaView(JsonErrorsMixin, SpectacularAPIView):
    """Answers YAML (the default) or JSON; a refusal (``?format=xml``, an ``Accept`` it cannot
    answer, another method) is ``{"code", "detail"}`` JSON, not a YAML document."""


class SwaggerUiView(JsonErrorsMixin, SpectacularSwaggerSplitView):
    """An HTML page; its refusals are JSON like every other error under /api/v1/."""
