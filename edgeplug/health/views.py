"""/health (the process answers) and /ready (its dependencies answer)."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from edgeplug.health.checks import run_checks


@never_cache
@require_GET
def health(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    results = run_checks()
    ok = all(r.ok for r in results)
    body = {
        "status": "ready" if ok else "unavailable",
        "checks": {r.name: ("ok" if r.ok else r.error) for r in results},
    }
    return JsonResponse(body, status=200 if ok else 503)
