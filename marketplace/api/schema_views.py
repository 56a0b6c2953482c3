"""The published JSON Schema of manifest.json."""

from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from marketplace.packageformat import SCHEMA_MEDIA_TYPE, manifest_schema_bytes


@require_GET
@cache_control(public=True, max_age=3600)
def manifest_schema(request):
    return HttpResponse(manifest_schema_bytes(), content_type=SCHEMA_MEDIA_TYPE)
