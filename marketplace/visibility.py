"""The catalogue as a request sees it, scoped with ``for_request``: the public agents and
versions, and the caller's tenant's own, published or not."""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from certification.errors import VersionYanked
from edgeplug.core.compiled import CompiledQuery
from edgeplug.tenancy.scoping import (
    for_request,
    for_tenant,
    get_for_request,
    get_referenced,
    request_tenant,
    sees_only_public,
)
from marketplace.errors import UnknownAgent, UnknownVersion
from marketplace.models import (
    PUBLIC_VERSION,
    YANKED_AFTER_RELEASE,
    Agent,
    AgentVersion,
    Entitlement,
    Review,
)
from marketplace.versioning import newest_first


def visible_versions(request) -> QuerySet:
    return for_request(AgentVersion.objects.all(), request, public=True)


def _held(request) -> QuerySet:
    """The caller's tenant's entitlements in force."""
    return for_request(Entitlement.objects.all(), request).in_force(timezone.now())


def held_versions(request) -> QuerySet:
    """The visible versions and, of an agent the caller's tenant holds an entitlement to in
    force, its released ones, also once its vendor is off sale: what customers bought stays
    theirs (docs/roles.md). What a version's bytes (download, bundle) answer for."""
    return AgentVersion.objects.filter(
        Q(pk__in=visible_versions(request).values("pk"))
        | Q(PUBLIC_VERSION, Exists(_held(request).filter(agent=OuterRef("agent"))))
    )


def shown_versions(request) -> QuerySet:
    """What a version's own URLs (its detail, its certificate) answer for: what the agent's
    page lists (``page_versions``: the visible versions and, of an agent the caller sees,
    those yanked after their release, marked); the released versions of an agent the tenant
    holds (``held_versions``); and, of an agent it holds, those yanked after their release,
    also once none is left public: the agent then leaves the catalogue (its page is a 404),
    but its holders are still told why its versions are refused (``yanked_refusal``), not
    that they do not exist. Their bytes stay behind ``held_versions`` (download, bundle)."""
    seen = Exists(visible_versions(request).filter(agent=OuterRef("agent")))
    held = Exists(_held(request).filter(agent=OuterRef("agent")))
    return AgentVersion.objects.filter(
        Q(pk__in=held_versions(request).values("pk")) | Q(YANKED_AFTER_RELEASE, seen | held)
    )


def yanked_refusal(request, agent_id: int, version: str) -> VersionYanked | None:
    """The refusal of a version the caller sees but may no longer use because its vendor
    yanked it (its download, bundle or a new deployment), or None: such a version is neither
    missing nor someone else's, so ``404`` or ``unknown_version`` would mislead."""
    item = (
        shown_versions(request)
        .filter(agent_id=agent_id, version=version, yanked_at__isnull=False)
        .select_related("agent")
        .first()
    )
    if item is None:
        return None
    return VersionYanked(
        f"{item.agent.name} {item.version} was yanked by its vendor on "
        f"{item.yanked_at:%Y-%m-%d} (UTC): it is no longer downloaded or deployed. Use another "
        "of its versions."
    )


def referenced_version(
    versions: QuerySet,
    agents: QuerySet,
    agent_id: int,
    version: str,
    *,
    fields: tuple[str, str] = ("agent", "version"),
) -> AgentVersion:
    """The version a request's body names by agent id and version string, among ``versions``
    (those the caller may use, scoped): else 400 ``unknown_agent`` when the agent is none of
    ``agents`` (those the caller may see), ``unknown_version`` when it is one but has no such
    version the caller may use (``fields`` are the body's names for the two)."""
    agent_field, version_field = fields
    lookup = {"agent_id": agent_id, "version": version}
    try:
        return get_referenced(
            versions.select_related("agent"), UnknownVersion, version_field, version, **lookup
        )
    except UnknownVersion:
        get_referenced(agents, UnknownAgent, agent_field, agent_id, pk=agent_id)
        raise


def _listed_versions(request) -> QuerySet:
    return _listed(visible_versions(request))


def _listed(versions: QuerySet) -> QuerySet:
    # The API never shows a version's manifest beside its agent: leave the JSON in the table.
    return versions.select_related("signing_key").defer("manifest").newest_first()


def visible_agents(request) -> QuerySet:
    """The agents with a version the caller may see, each with ``visible_versions``: every
    visible version, newest first (sorted in SQL by SemVer precedence)."""
    return _agents_with_versions(request, _listed_versions(request))


def agents_with_latest_version(request) -> QuerySet:
    """Visible agents, each with ``visible_versions`` = [its newest visible version]: one
    windowed query for any number of agents, one row per agent however many versions it has."""
    return _agents_with_versions(request, _listed_versions(request)[:1])


def _agents_with_versions(request, listed: QuerySet) -> QuerySet:
    versions = visible_versions(request)
    return (
        Agent.objects.select_related("tenant")
        .filter(Exists(versions.filter(agent=OuterRef("pk"))))
        .prefetch_related(Prefetch("versions", queryset=listed, to_attr="visible_versions"))
    )


def orderable_agents(tenant) -> QuerySet:
    """The agents an order of ``tenant`` may name: its own, and those the catalogue shows it
    (a public version, or one yanked after its release), also of a vendor now off sale, so
    that the order says why it cannot be bought (``not_available``) instead of ``unknown``."""
    released = AgentVersion.objects.filter(PUBLIC_VERSION | YANKED_AFTER_RELEASE)
    return Agent.objects.filter(Q(tenant=tenant) | Exists(released.filter(agent=OuterRef("pk"))))


def held_or_visible_agents(request) -> QuerySet:
    """The agents a customer's request may name (a deployment's, a filter of its
    entitlements): those with a version it may see, and those its tenant holds (or held) an
    entitlement to, whatever became of their versions since (its entitlements show them)."""
    versions = visible_versions(request).filter(agent=OuterRef("pk"))
    held = for_request(Entitlement.objects.all(), request).filter(agent=OuterRef("pk"))
    return Agent.objects.filter(Exists(versions) | Exists(held))


def review_to_reply(request, agent_id: int, review_id: int) -> Review:
    """A review the caller's vendor may reply to (the API's and the portal's): of one of its
    own agents and shown to customers; else 404, the same for a hidden review, another
    vendor's and none at all."""
    return get_for_request(
        Review.objects.visible().select_related("agent", "tenant"),
        request,
        field="agent__tenant",
        agent_id=agent_id,
        pk=review_id,
    )


def with_listing(agents: QuerySet) -> QuerySet:
    """``agents`` with their catalogue listing and its version joined in, less the version's
    manifest JSON, which the API never shows beside an agent."""
    return agents.select_related("listing", "listing__version").defer("listing__version__manifest")


def _newest_listed_version(tenant, agent) -> QuerySet:
    """The newest version of ``agent`` that a caller acting for ``tenant`` sees, as
    ``_listed_versions`` gives it, with the agent, its tenant and listing joined."""
    return (
        _listed(for_tenant(AgentVersion.objects.all(), tenant, public=True))
        .filter(agent_id=agent)
        .select_related("agent__tenant", "agent__listing__version")
        .defer("agent__listing__version__manifest")[:1]
    )


# Every upload's response runs it for its vendor (compiling it took longer than the rest of
# rendering the response: it selects ~110 columns, and is ordered).
_newest_own_or_public_version = CompiledQuery(
    _newest_listed_version,
    tenant=AgentVersion._meta.get_field("tenant"),
    agent=AgentVersion._meta.get_field("agent"),
)


def agent_with_latest_version(request, pk) -> Agent:
    """One visible agent as ``agents_with_latest_version`` gives it, with its listing joined.

    One query: its newest visible version, with ``LIMIT 1`` down the agent's versions in
    ``newest_first`` order (an index in that order) rather than ranked by a window over all
    its versions, so the cost does not grow with them (the upload response), and the agent,
    its tenant and listing joined to that row; an agent is visible exactly when it has one.
    ``Agent.DoesNotExist`` when it is not visible."""
    tenant = request_tenant(request)
    if tenant is None:
        found = list(_newest_listed_version(None, pk))
    else:
        found = _newest_own_or_public_version.fetch(tenant=tenant.pk, agent=pk)
    if not found:
        raise Agent.DoesNotExist(f"No visible agent {pk}.")
    newest = found[0]
    agent = newest.agent
    agent.visible_versions = [newest]
    return agent


def page_versions(agent: Agent) -> list[AgentVersion]:
    """What the agent's page lists (``AgentDetailSerializer``), newest first: its prefetched
    ``visible_versions``, and those that were public and then yanked, marked, for the record
    (also once their certificate has expired since). ``shown_versions`` is the same rule for
    the versions' own URLs, and also answers a holder of an agent that left the catalogue."""
    shown = {version.pk: version for version in agent.visible_versions}
    yanked = agent.versions.yanked_after_release()
    for version in _listed(yanked):
        shown.setdefault(version.pk, version)
    return newest_first(shown.values())


def sees_public_catalogue(request) -> bool:
    """True when the caller sees exactly what anyone sees: it acts for no tenant (no query),
    or for one that owns no version (one query), whether or not it is marked a vendor today
    (staff may untick that on a tenant that keeps its agents). A vendor is taken to own some
    without asking: it only misses the shared cache."""
    tenant = request_tenant(request)
    if tenant is not None and tenant.is_vendor:
        return False
    return sees_only_public(AgentVersion.objects.all(), tenant)
