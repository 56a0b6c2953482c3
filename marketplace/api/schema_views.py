"""The published JSON Schema of manifest.json: an API operation like the others (in the
OpenAPI schema, throttled, its query parameters and ``Accept`` checked, its refusals JSON),
answering the schema file byte for byte, public for an hour."""

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from edgeplug.core.renderers import FileRenderer, JsonErrorsMixin
from marketplace.packageformat import SCHEMA_MEDIA_TYPE, manifest_schema_bytes


class JsonSchemaRenderer(FileRenderer):
    media_type = SCHEMA_MEDIA_TYPE
    format = "json"


class JsonDocumentRenderer(FileRenderer):
    """The same file to a client asking for ``application/json``: a JSON Schema is a JSON
    document, and such a client was answered it before the route was an API view."""

    media_type = "application/json"
    format = "json"


class ManifestSchema(JsonErrorsMixin, APIView):
    """The JSON Schema (draft 2020-12) of a package's ``manifest.json`` (docs/package-format.md),
    the same for everyone: anyone may read it, signed in or not."""

    permission_classes = [AllowAny]
    # Nobody's credentials are read: a stale token still gets the file (tools fetch it with
    # whatever they hold), and a shared cache keeps one copy (no Vary: Cookie).
    authentication_classes = []
    renderer_classes = [JsonSchemaRenderer, JsonDocumentRenderer]

    @extend_schema(
        responses={
            (200, SCHEMA_MEDIA_TYPE): OpenApiTypes.OBJECT,
            (200, "application/json"): OpenApiTypes.OBJECT,
        }
    )
    def get(self, request):
        media_type = request.accepted_renderer.media_type  # not the Accept range, its q and all
        response = HttpResponse(manifest_schema_bytes(), content_type=media_type)
        patch_cache_control(response, public=True, max_age=3600)
        return response
