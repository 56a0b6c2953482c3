"""The catalogue: each public agent's listing (certificate figures, plans, ratings,
popularity), full-text search with typo tolerance, certificate-based filters, facets
and sorts.

On PostgreSQL search uses a weighted ``SearchVector`` (name > type and vendor > description,
``english`` stemming) stored on the listing with a GIN index, ranked by ``SearchRank``, plus
``pg_trgm`` word similarity so "anomoly" finds anomaly detectors. SQLite (the embedded
default) falls back to substring matching.
"""

import math
import unicodedata
from dataclasses import dataclass

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    TrigramWordSimilarity,
)
from django.db import connection, transaction
from django.db.models import Avg, Count, F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.utils import timezone

from edgeplug.core.locking import locked
from edgeplug.tenancy.models import Tenant
from edgeplug.tenancy.signals import tenant_changed
from marketplace.catalogue_cache import invalidate_catalogue
from marketplace.certified import current_certificate
from marketplace.models import (
    MAX_STARS,
    Agent,
    CatalogueListing,
    Entitlement,
    PlanKind,
    PricePlan,
    Review,
)

FACETS = ("agent_type", "core", "level", "license")
PRICE_MODELS = {"free": "has_free", "one_time": "has_one_time", "metered": "has_metered"}


# --- the certificate summary -----------------------------------------------------------------


@dataclass(frozen=True)
class CertificateSummary:
    certificate_id: int
    level: str
    core: str
    model_bytes: int | None
    arena_bytes: int | None
    latency_median_us: int | None
    latency_worst_us: int | None
    issued_at: str
    expires_at: str


def _stage_metrics(payload: dict, stage: str) -> dict:
    for entry in payload.get("stages", []):
        if entry.get("stage") == stage:
            return entry.get("metrics") or {}
    return {}


def _int(value) -> int | None:
    return math.ceil(value) if isinstance(value, (int, float)) else None


def summarize_certificate(certificate) -> CertificateSummary:
    """Measured figures: latency on the emulated target (simulation), falling back to the
    performance stage's instruction-count estimate; model and tensor-arena bytes."""
    payload = certificate.payload
    simulation = _stage_metrics(payload, "simulation")
    performance = _stage_metrics(payload, "performance")
    worst = simulation.get("latency_max_us", performance.get("latency_estimate_us"))
    median = simulation.get("latency_median_us", performance.get("latency_estimate_us"))
    return CertificateSummary(
        certificate_id=certificate.pk,
        level=payload.get("level", ""),
        core=payload.get("package", {}).get("target_core", ""),
        model_bytes=_int(performance.get("model_size_bytes")),
        arena_bytes=_int(performance.get("arena_bytes")),
        latency_median_us=_int(median),
        latency_worst_us=_int(worst),
        issued_at=payload.get("issued_at", ""),
        expires_at=payload.get("expires_at", ""),
    )


# --- ratings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingSummary:
    average: float | None
    count: int
    histogram: dict[str, int]


def visible_reviews(agent: Agent) -> QuerySet:
    return Review.objects.visible().filter(agent=agent)


def rating_summary(agent: Agent) -> RatingSummary:
    """Average, count and a 1-5 star histogram of the agent's visible reviews."""
    stars = range(1, MAX_STARS + 1)
    totals = visible_reviews(agent).aggregate(
        average=Avg("stars"), **{f"stars_{n}": Count("id", filter=Q(stars=n)) for n in stars}
    )
    histogram = {str(n): totals[f"stars_{n}"] for n in stars}
    average = totals["average"]
    return RatingSummary(
        round(average, 2) if average is not None else None, sum(histogram.values()), histogram
    )


# --- keeping listings current ----------------------------------------------------------------


def refresh_listing(agent: Agent) -> CatalogueListing | None:
    """Rebuild the agent's listing from its newest public version; drop it when none is.
    Cached catalogue pages are forgotten when the caller's transaction commits.

    The agent's row is held (``FOR NO KEY UPDATE``: entitlements and orders naming the agent
    are inserted meanwhile as usual) before anything is counted, so two refreshes at once
    count one after the other: two tenants ordering the agent at once each counted only
    their own new entitlement and both wrote n + 1. Last in the lock order of
    ``marketplace.orders.lock_standing``."""
    with transaction.atomic():
        locked(agent)
        return _rebuild_listing(agent)


def _rebuild_listing(agent: Agent) -> CatalogueListing | None:
    invalidate_catalogue()
    # The newest public version, sorted in SQL: one row however many versions the agent has.
    version = agent.versions.public().newest_first().first()
    if version is None:
        CatalogueListing.objects.filter(agent=agent).delete()
        return None
    certificate = current_certificate(version)
    summary = summarize_certificate(certificate) if certificate else None
    kinds = set(PricePlan.objects.orderable().filter(agent=agent).values_list("kind", flat=True))
    rating = rating_summary(agent)
    vendor_name = agent.tenant.name
    values = {
        "version": version,
        "name": agent.name,
        "agent_type": agent.agent_type,
        "description": agent.description,
        "vendor_name": vendor_name,
        "search_text": searchable(
            " ".join([agent.name, agent.agent_type, vendor_name, agent.description])
        ),
        "license": str(version.manifest.get("license", ""))[:100],
        "core": summary.core if summary else "",
        "level": summary.level if summary else "",
        "certificate_id": summary.certificate_id if summary else None,
        "model_bytes": summary.model_bytes if summary else None,
        "arena_bytes": summary.arena_bytes if summary else None,
        "latency_median_us": summary.latency_median_us if summary else None,
        "latency_worst_us": summary.latency_worst_us if summary else None,
        "has_free": PlanKind.FREE in kinds,
        "has_one_time": PlanKind.ONE_TIME in kinds,
        "has_metered": PlanKind.METERED in kinds,
        "rating_average": rating.average,
        "rating_count": rating.count,
        "active_entitlements": active_entitlement_count(agent),
        "published_at": version.certified_at or version.created_at,
    }
    listing, _ = CatalogueListing.objects.update_or_create(agent=agent, defaults=values)
    if connection.vendor == "postgresql":
        CatalogueListing.objects.filter(pk=listing.pk).update(
            search_vector=_weighted_vector(values)
        )
    return listing


def refresh_vendor_listings(tenant: Tenant, *, all_agents: bool = False) -> None:
    """Rebuild the listings of the tenant's agents, which carry its name (and are searched
    by it); cached catalogue pages, which show its slug too, are forgotten in any case.
    ``all_agents`` rebuilds unlisted agents too: once the vendor is active again, those with
    a public version are back on sale (while it is not, none is: ``AgentVersion.public``)."""
    invalidate_catalogue()
    agents = Agent.objects.filter(tenant=tenant)
    if not all_agents:
        agents = agents.filter(listing__isnull=False)
    # By primary key, as every action locks listings (``orders.lock_standing``).
    for agent in agents.order_by("pk"):
        agent.tenant = tenant
        refresh_listing(agent)


@receiver(tenant_changed, dispatch_uid="marketplace.catalogue.refresh_vendor_listings")
def _on_tenant_changed(sender, tenant: Tenant, changed: dict, **kwargs) -> None:
    refresh_vendor_listings(tenant, all_agents="is_active" in changed)


def active_entitlement_count(agent: Agent) -> int:
    return Entitlement.objects.filter(agent=agent).in_force(timezone.now()).count()


def searchable(text: str) -> str:
    """Text as the search compares it, the query and what is indexed alike: NFKC, so a word
    typed decomposed (e and a combining accent, as macOS may send it) or in full-width
    letters (an East Asian input method's default) is the composed or ASCII word, and so is
    a description written so."""
    return unicodedata.normalize("NFKC", text)


def _weighted_vector(values: dict) -> SearchVector:
    """The listing's ``values`` (the columns keep the text as written, for display) indexed
    as the search compares them (``searchable``)."""

    def vector(*fields: str, weight: str) -> SearchVector:
        texts = (Value(searchable(values[field])) for field in fields)
        return SearchVector(*texts, weight=weight, config="english")

    return (
        vector("name", weight="A")
        + vector("agent_type", "vendor_name", weight="B")
        + vector("description", weight="C")
    )


# --- search, filters, facets, sorts ------------------------------------------------------------


def search(queryset: QuerySet, q: str) -> QuerySet:
    """Agents matching ``q``, annotated with ``relevance``."""
    q = searchable(q)
    if connection.vendor != "postgresql":
        # The listing's search_text: name, type, vendor and description as ``searchable``
        # indexed them, so both sides are compared in one form (the columns keep them as
        # written).
        matched = queryset.filter(listing__search_text__icontains=q)
        return matched.annotate(relevance=Value(0.0, output_field=FloatField()))
    query = SearchQuery(q, config="english", search_type="websearch")
    return queryset.filter(
        Q(listing__search_vector=query) | Q(listing__search_text__trigram_word_similar=q)
    ).annotate(
        relevance=Coalesce(SearchRank(F("listing__search_vector"), query), 0.0)
        + TrigramWordSimilarity(q, "listing__search_text")
    )


def facet_counts(queryset: QuerySet) -> dict[str, dict[str, int]]:
    """Counts per facet value for the agents in ``queryset`` (the current filter set), in one
    query whatever the page size: the matching listings once (a CTE), grouped per facet and
    summed per price model, the parts joined with UNION ALL (portable to SQLite)."""
    agents_sql, params = queryset.order_by().values("pk").query.sql_with_params()
    # Only constant identifiers (quoted) go into the text; every value is a bound parameter.
    quote = connection.ops.quote_name
    parts = [
        f"SELECT {index} AS facet, {quote(name)} AS value, COUNT(*) AS n FROM matched "  # noqa: S608
        f"WHERE {quote(name)} <> '' GROUP BY {quote(name)}"
        for index, name in enumerate(FACETS)
    ]
    parts += [
        f"SELECT {len(FACETS)} AS facet, '{model}' AS value, COUNT(*) AS n FROM matched "  # noqa: S608
        f"WHERE {quote(flag)}"
        for model, flag in PRICE_MODELS.items()
    ]
    columns = ", ".join(quote(c) for c in (*FACETS, *PRICE_MODELS.values()))
    table = quote(CatalogueListing._meta.db_table)
    sql = (
        f"WITH matched AS (SELECT {columns} FROM {table} "  # noqa: S608
        f"WHERE {quote('agent_id')} IN ({agents_sql})) " + " UNION ALL ".join(parts)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names = (*FACETS, "price_model")
    price_order = list(PRICE_MODELS)
    facets: dict[str, dict[str, int]] = {name: {} for name in names}
    for facet, value, n in sorted(
        rows,
        key=lambda row: (row[0], price_order.index(row[1]) if row[0] == len(FACETS) else row[1]),
    ):
        if n:
            facets[names[facet]][value] = n
    return facets


SORTS = {
    "newest": ("-listing__published_at", "-pk"),
    "rating": (F("listing__rating_average").desc(nulls_last=True), "-listing__rating_count", "pk"),
    "popularity": ("-listing__active_entitlements", "pk"),
    "latency": (F("listing__latency_worst_us").asc(nulls_last=True), "pk"),
    "relevance": ("-relevance", "pk"),
}
