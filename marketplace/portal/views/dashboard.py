"""The vendor's home: agents, newest versions with their badges, runs in progress, alerts."""

from datetime import timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from certification.models import CertificationRun, ScanFinding
from edgeplug.tenancy.scoping import for_request
from marketplace.models import Agent, AgentVersion, Deployment
from marketplace.portal.access import vendor_page

ALERT_WINDOW = timedelta(days=30)


def _agents(request) -> list[Agent]:
    """The vendor's agents, each with its newest version (``newest``, or None): that version
    is all that is read of each agent's versions, however many it has."""
    versions = for_request(AgentVersion.objects.all(), request)
    newest = versions.filter(agent=OuterRef("pk")).newest_first().values("pk")[:1]
    agents = list(for_request(Agent.objects.all(), request).annotate(newest_pk=Subquery(newest)))
    shown = versions.in_bulk([agent.newest_pk for agent in agents if agent.newest_pk])
    for agent in agents:
        agent.newest = shown.get(agent.newest_pk)
    return agents


def _yanked(request, since) -> list[AgentVersion]:
    """Versions yanked lately, and any yanked version customers' devices still run (counted
    over the vendor's own versions: how many devices, never whose)."""
    deployed = dict(
        Deployment.objects.filter(
            version__in=for_request(AgentVersion.objects.filter(yanked_at__isnull=False), request)
        )
        .values_list("version")
        .annotate(Count("pk"))
    )
    versions = for_request(
        AgentVersion.objects.select_related("agent").filter(
            Q(yanked_at__gte=since) | Q(pk__in=list(deployed))
        ),
        request,
    ).order_by("-yanked_at", "-pk")[:10]
    for version in versions:
        version.deployed_on = deployed.get(version.pk, 0)
    return list(versions)


@require_safe
@vendor_page
def dashboard(request):
    since = timezone.now() - ALERT_WINDOW
    runs = for_request(CertificationRun.objects.select_related("version__agent"), request)
    context = {
        "agents": _agents(request),
        "versions": for_request(
            AgentVersion.objects.select_related("agent", "signing_key"), request
        )[:8],
        "active_runs": runs.active().order_by("created_at", "id"),
        "failed_runs": runs.failed().filter(finished_at__gte=since)[:10],
        "yanked": _yanked(request, since),
        "advisories": for_request(
            ScanFinding.objects.select_related("version__agent", "advisory").filter(
                known_at_certification=False
            ),
            request,
        )[:10],
    }
    return render(request, "portal/dashboard.html", context)
