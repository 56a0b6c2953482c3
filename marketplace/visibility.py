"""Who sees which agents and versions: vendors their own, everyone else the public ones."""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from marketplace.models import PUBLIC_VERSION, Agent, AgentVersion


def visible_versions(request) -> QuerySet:
    tenant = getattr(request, "tenant", None)
    return AgentVersion.objects.filter(
        PUBLIC_VERSION | Q(tenant=tenant) if tenant else PUBLIC_VERSION
    )


def sees_public_catalogue(request) -> bool:
    """True when the caller sees exactly what customers see: only vendor tenants publish, so
    only they have unpublished versions of their own on top of the public ones."""
    tenant = getattr(request, "tenant", None)
    return tenant is None or not tenant.is_vendor


def _listed_versions(request) -> QuerySet:
    # The API never shows a version's manifest beside its agent: leave the JSON in the table.
    return visible_versions(request).select_related("signing_key").defer("manifest").newest_first()


def visible_agents(request) -> QuerySet:
    """The agents with a version the caller may see."""
    versions = visible_versions(request)
    return Agent.objects.select_related("tenant").filter(
        Exists(versions.filter(agent=OuterRef("pk")))
    )


def agents_with_latest_version(request) -> QuerySet:
    """Visible agents, each with ``visible_versions`` = [its newest visible version]: one
    query for any number of agents, one row per agent however many versions it has."""
    newest = _listed_versions(request)[:1]
    return visible_agents(request).prefetch_related(
        Prefetch("versions", queryset=newest, to_attr="visible_versions")
    )


def with_latest_version(request, agent: Agent) -> Agent:
    """``agent`` (one the caller may see) with ``visible_versions`` = [its newest visible
    version], read in one single-row query."""
    newest = _listed_versions(request).filter(agent=agent).first()
    agent.visible_versions = [newest] if newest else []
    return agent


def agents_with_versions(request) -> QuerySet:
    """Visible agents, each with ``visible_versions``: every visible version, newest first."""
    return visible_agents(request).prefetch_related(
        Prefetch("versions", queryset=_listed_versions(request), to_attr="visible_versions")
    )
