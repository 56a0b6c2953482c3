"""Bare Django ceilings: what a view costs with no work (``ceiling``) and with one 20-row
query (``rows``), through the same middleware and gunicorn as the API."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from marketplace.models import Agent

ITEMS = [
    {"id": n, "name": f"agent-{n}", "vendor": "acme-robotics", "version": f"1.{n}.0"}
    for n in range(20)
]


@require_GET
def ceiling(request):
    return JsonResponse({"count": len(ITEMS), "results": ITEMS})


@require_GET
def rows(request):
    results = list(
        Agent.objects.order_by("id").values("id", "name", "agent_type", "description")[:20]
    )
    return JsonResponse({"count": len(results), "results": results})
