"""The catalogue as a request sees it, scoped with ``for_request``: vendors see their own
agents and versions, everyone else the public ones."""

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from edgeplug.tenancy.scoping import for_request
from marketplace.models import Agent, AgentVersion
from marketplace.versioning import newest_first


def visible_versions(request) -> QuerySet:
    return for_request(AgentVersion.objects.all(), request, public=True)


def visible_agents(request) -> QuerySet:
    versions = visible_versions(request)
    return (
        Agent.objects.select_related("tenant")
        .filter(Exists(versions.filter(agent=OuterRef("pk"))))
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=versions.select_related("signing_key"),
                to_attr="visible_versions",
            )
        )
    )


def sorted_versions(agent: Agent) -> list[AgentVersion]:
    return newest_first(agent.visible_versions)


def sees_public_catalogue(request) -> bool:
    """True when the caller sees exactly what customers see: only vendor tenants publish, so
    only they have unpublished versions of their own on top of the public ones."""
    tenant = getattr(request, "tenant", None)
    return tenant is None or not tenant.is_vendor
