"""The OpenAPI schema (/api/v1/schema/) and its Swagger UI (/api/v1/docs/): drf-spectacular's
views, with the API's JSON errors, reading their own query parameters as every API operation
reads its own (``RefuseUnknownQueryParametersMiddleware`` checks only the schema's operations):
another is ``400 unknown_parameter``, one given twice ``400 repeated_parameter``, a ``lang``
the site has not ``400 invalid_choice``."""

from django.conf import settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail

from edgeplug.core.published_parameters import refusal_of_query
from edgeplug.core.renderers import JsonErrorsMixin

LANG = "lang"


def _refuse_unknown_lang(request) -> None:
    """``?lang=`` names one of ``settings.LANGUAGES`` (the choices drf-spectacular publishes
    for it): Django's ``translation.override`` took any other and answered English."""
    lang = request.GET.get(LANG)
    languages = dict(settings.LANGUAGES)
    if lang is not None and lang not in languages:
        message = f"{lang!r} is not a language of this site (one of {', '.join(languages)})."
        raise exceptions.ValidationError({LANG: [ErrorDetail(message, code="invalid_choice")]})


class _TakesOnly:
    """The query parameters the view reads (``takes``), each once; another is refused, not
    ignored, and so is a repeated one (drf-spectacular read the last alone)."""

    takes: frozenset[str]

    def initial(self, request, *args, **kwargs):
        if refusal := refusal_of_query(request.GET, self.takes):
            raise refusal
        _refuse_unknown_lang(request)
        super().initial(request, *args, **kwargs)


class SchemaView(_TakesOnly, JsonErrorsMixin, SpectacularAPIView):
    """Answers YAML (the default) or JSON; a refusal (``?format=xml``, an ``Accept`` it cannot
    answer, another method) is ``{"code", "detail"}`` JSON, not a YAML document. It takes no
    ``version``: the API has one, which the document publishes (``SPECTACULAR_SETTINGS``), and
    drf-spectacular wrote whatever text was sent into its ``info.version``."""

    takes = frozenset({"format", LANG})


class SwaggerUiView(_TakesOnly, JsonErrorsMixin, SpectacularSwaggerSplitView):
    """An HTML page, and its script (``?script``); its refusals are JSON like every other
    error under /api/v1/."""

    takes = frozenset({"format", LANG, "script"})
