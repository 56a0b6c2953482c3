"""/health (the process answers), /metrics (Prometheus, to a scrape with the token:
edgeplug/health/metrics_access.py) and /ready (it can serve: its database answers; the shared
parts it can go on without are named when they do not: edgeplug/health/checks.py).

``/ready?strict`` (or ``strict=1``; ``strict=0`` or ``false`` is the plain check) answers 503
unless every part answers: what a pod starting up must see once, so that a rollout with a
wrong bucket or broker address stops at its first pod, while the pods already serving ride
out an outage of those parts."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from edgeplug.core.error_views import error_response
from edgeplug.health.checks import REQUIRED, run_checks
from edgeplug.health.metrics_access import scrape_refusal


@never_cache
@require_GET
def health(request):
    return JsonResponse({"status": "ok"})


@never_cache
def metrics(request):
    """django_prometheus's exporter, to a scrape that may read it."""
    if refusal := scrape_refusal(request.headers.get("Authorization", "")):
        return error_response(refusal)
    return ExportToDjangoView(request)


@never_cache
@require_GET
def ready(request):
    results = run_checks()
    if any(r.name == REQUIRED and not r.ok for r in results):
        status = "unavailable"
    elif all(r.ok for r in results):
        status = "ready"
    else:
        status = "degraded"
    body = {"status": status, "checks": {r.name: ("ok" if r.ok else r.error) for r in results}}
    strict = request.GET.get("strict", "0").lower() not in {"0", "false", "no", "off"}
    serving = status == "ready" or (status == "degraded" and not strict)
    return JsonResponse(body, status=200 if serving else 503)
