"""The catalogue: typo-tolerant full-text search, certificate-based filters, facets, sorts,
anonymous browse, and a query count that does not grow with the page size."""

import unicodedata
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from certification.certificates.issuing import issue_certificate
from certification.models import CertificationResult
from marketplace import plans
from marketplace.catalogue import refresh_listing
from marketplace.models import AgentVersion, CatalogueListing, Review
from tests.commerce.conftest import place_order, publish
from tests.factories import AgentVersionFactory, CertificationRunFactory
from tests.openapi_conformance import assert_documented, documented_keys
from tests.vendors import package

pytestmark = pytest.mark.django_db


def list_agent(
    vendor,
    name,
    *,
    agent_type,
    description,
    core="cortex-m4",
    level="standard",
    arena=16 * 1024,
    model=48 * 1024,
    worst_us=400,
    license="Apache-2.0",
    plan_kind="free",
):
    target = {"core": core, "clock_mhz": 80, "ram_kb": 256, "flash_kb": 1024}
    body = vendor.upload(
        package(
            name=name,
            agent_type=agent_type,
            description=description,
            target=target,
            license=license,
        )
    ).json()
    version = publish(AgentVersion.objects.get(pk=body["version"]["id"]))
    run = CertificationRunFactory(
        version=version, level=level, stages=["performance", "simulation"]
    )
    results = [
        CertificationResult.objects.create(
            run=run,
            test_suite="performance",
            test_result="pass",
            metrics={
                "model_size_bytes": model,
                "arena_bytes": arena,
                "latency_estimate_us": worst_us,
            },
        ),
        CertificationResult.objects.create(
            run=run,
            test_suite="simulation",
            test_result="pass",
            metrics={"latency_median_us": worst_us - 20, "latency_max_us": worst_us},
        ),
    ]
    issue_certificate(run, results)
    price = {"currency": "USD", "amount": 900} if plan_kind == "one_time" else {}
    plans.create_plan(version.agent, key=plan_kind, name=plan_kind, kind=plan_kind, **price)
    refresh_listing(version.agent)
    return version.agent


@pytest.fixture
def shelf(vendor):
    return {
        "pump": list_agent(
            vendor,
            "pump-anomaly",
            agent_type="anomaly-detection",
            description="Flags abnormal vibration on centrifugal pumps.",
            worst_us=420,
        ),
        "bearing": list_agent(
            vendor,
            "bearing-watch",
            agent_type="anomaly-detection",
            description="Detects anomalies in bearing temperature.",
            core="cortex-m7",
            level="hardware",
            arena=96 * 1024,
            worst_us=150,
            plan_kind="one_time",
            license="MIT",
        ),
        "valve": list_agent(
            vendor,
            "valve-guard",
            agent_type="safety-interlock",
            description="Closes the valve on overpressure.",
            worst_us=90,
            model=200 * 1024,
        ),
    }


def names(client, query=""):
    response = client.get(f"/api/v1/agents?{query}")
    assert response.status_code == 200, response.json()
    return [a["name"] for a in response.json()["results"]]


def test_anonymous_visitors_browse_the_catalogue(shelf):
    anonymous = APIClient()
    assert set(names(anonymous)) == {"pump-anomaly", "bearing-watch", "valve-guard"}
    detail = anonymous.get(f"/api/v1/agents/{shelf['pump'].pk}").json()
    assert detail["listing"]["core"] == "cortex-m4"
    assert anonymous.post("/api/v1/orders", {}, format="json").status_code == 401


def test_a_stale_token_on_the_open_catalogue_is_a_documented_401(shelf):
    """Anyone may browse, but a client sending an expired or wrong token is told (401), not
    served as anonymous; the schema says so for each operation anyone may call."""
    stale = APIClient()
    stale.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    pump = shelf["pump"]
    for path, operation in [
        ("/api/v1/agents", "GET /api/v1/agents"),
        (f"/api/v1/agents/{pump.pk}", "GET /api/v1/agents/{id}"),
        (f"/api/v1/agents/{pump.pk}/reviews", "GET /api/v1/agents/{agent_id}/reviews"),
    ]:
        response = stale.get(path)
        assert response.status_code == 401, (path, response.content)
        assert response.json()["code"] == "token_not_valid"
        assert_documented(response, operation)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="stemming and pg_trgm need PostgreSQL"
)
def test_search_stems_tolerates_typos_and_ranks_names_first(shelf):
    client = APIClient()
    assert set(names(client, "q=anomoly")) == {"pump-anomaly", "bearing-watch"}
    assert set(names(client, "q=closing valves")) == {"valve-guard"}  # stemmed
    ranked = names(client, "q=bearing")
    assert ranked[0] == "bearing-watch"


def _full_width(text: str) -> str:
    """ASCII letters and signs as their full-width forms (U+FF01-U+FF5E)."""
    return text.translate({code: code + 0xFEE0 for code in range(0x21, 0x7F)})


# The same text as a person may send it: composed, decomposed (e and a combining accent, as
# macOS may send it) or in full-width letters (a Japanese or Chinese input method's default).
ENCODINGS = {
    "composed": lambda text: unicodedata.normalize("NFC", text),
    "decomposed": lambda text: unicodedata.normalize("NFD", text),
    "fullwidth": _full_width,
}


@pytest.mark.parametrize("written", ENCODINGS)
@pytest.mark.parametrize("typed", ENCODINGS)
@pytest.mark.parametrize("word", ["fumée", "smoke"], ids=["accented", "ascii"])
def test_a_word_is_found_however_its_letters_are_encoded(vendor, word, typed, written):
    """A word typed decomposed or in full-width letters found nothing (the search read it
    code point for code point), nor did a word find a description written so. On PostgreSQL
    and on SQLite, the embedded default, whose search compared the normalised query with the
    text as written (a decomposed description was no longer found by a decomposed word)."""
    description = ENCODINGS[written]("Smoke: détecteur de fumée pour usines.")
    list_agent(vendor, "hazard-guard", agent_type="safety", description=description)
    list_agent(vendor, "valve-guard", agent_type="safety-interlock", description="Closes.")
    query = urlencode({"q": ENCODINGS[typed](word)})
    assert names(APIClient(), query) == ["hazard-guard"]


def test_search_finds_by_vendor_and_description(shelf, vendor):
    client = APIClient()
    assert "valve-guard" in names(client, "q=overpressure")
    vendor_name = vendor.tenant.name
    assert len(names(client, f"q={vendor_name.split()[0]}")) == 3


def test_filters_come_from_the_certificate(shelf):
    client = APIClient()
    assert names(client, "core=cortex-m7") == ["bearing-watch"]
    assert set(names(client, "max_ram_kb=32")) == {"pump-anomaly", "valve-guard"}
    assert set(names(client, "max_flash_kb=64")) == {"pump-anomaly", "bearing-watch"}
    assert set(names(client, "max_latency_us=200")) == {"bearing-watch", "valve-guard"}
    assert names(client, "level=hardware") == ["bearing-watch"]
    assert names(client, "license=MIT") == ["bearing-watch"]
    # SPDX ids are compared in any case (mit was 0 results, said as none).
    assert names(client, "license=mit") == ["bearing-watch"]
    assert names(client, "price_model=one_time") == ["bearing-watch"]
    assert set(names(client, "free=true")) == {"pump-anomaly", "valve-guard"}
    assert names(client, "agent_type=safety-interlock") == ["valve-guard"]
    assert client.get("/api/v1/agents?level=platinum").status_code == 400


@pytest.mark.parametrize("bound", [2**31 - 1, 2**31, 10**10, 10**15])
def test_a_latency_bound_past_the_columns_range_still_leaves_out_unmeasured_agents(shelf, bound):
    """The latency column holds 32-bit integers: a bound past them (the schema publishes up
    to 10**15) made Django drop the condition as always true, so agents with no measured
    latency were listed as meeting it, with a 200, and counted in the facets."""
    publish(AgentVersionFactory(agent__name="unmeasured"))
    client = APIClient()
    assert "unmeasured" in names(client)

    response = client.get("/api/v1/agents", {"max_latency_us": bound})

    assert response.status_code == 200, response.json()
    listed = {agent["name"] for agent in response.json()["results"]}
    assert listed == {"pump-anomaly", "bearing-watch", "valve-guard"}
    assert sum(response.json()["facets"]["level"].values()) == 3, response.json()["facets"]


@pytest.mark.parametrize(
    "parameter", ["max_ram_kb", "max_flash_kb", "max_latency_us", "min_rating"]
)
@pytest.mark.parametrize(
    "typed",
    ["٣", "\uff13", " 3", "3 ", "1e2", "1_0"],
    ids=["arabic", "fullwidth", "lead", "trail", "exponent", "underscore"],
)
def test_a_number_filter_takes_ascii_digits_only_as_page_size_does(shelf, parameter, typed):
    """Django's number fields strip the value and read any script's digits: ``?max_ram_kb=٣``
    filtered by 3 (and ``1e2`` by 100), where ``page_size=٣`` is a 400 and the schema
    publishes a number."""
    response = APIClient().get("/api/v1/agents", {parameter: typed})
    assert (response.status_code, response.json()["code"]) == (400, "invalid"), typed
    assert response.json()["detail"] == f"{parameter}: Enter a number."


def test_a_core_no_package_may_target_is_refused_not_an_empty_page(shelf):
    """As a device registered with one is refused: `core=bogus` was an empty 200, which reads
    as "nothing runs on it"."""
    client = APIClient()
    assert names(client, "target_core=cortex-m7") == ["bearing-watch"]
    for query in ("core=cortex-m99", "target_core=bogus"):
        response = client.get(f"/api/v1/agents?{query}")
        assert (response.status_code, response.json()["code"]) == (400, "invalid_choice"), query


def test_free_is_true_or_false_and_anything_else_is_refused(shelf):
    client = APIClient()
    assert set(names(client, "free=1")) == {"pump-anomaly", "valve-guard"}
    assert names(client, "free=false") == ["bearing-watch"]
    for value in ("0.488", "yes", "maybe"):
        response = client.get(f"/api/v1/agents?free={value}")
        assert response.status_code == 400, value
        assert response.json()["code"] == "invalid", response.json()


def test_facets_count_the_current_filter_set(shelf):
    response = APIClient().get("/api/v1/agents?free=true")
    assert_documented(response, "GET /api/v1/agents")
    body = response.json()
    assert body["facets"] == {
        "agent_type": {"anomaly-detection": 1, "safety-interlock": 1},
        "core": {"cortex-m4": 2},
        "level": {"standard": 2},
        "license": {"Apache-2.0": 2},
        "price_model": {"free": 2},
    }


def test_sorts(shelf, member_client):
    client = APIClient()
    assert names(client, "sort=latency") == ["valve-guard", "bearing-watch", "pump-anomaly"]
    tenant = member_client("admin")[1].tenant
    Review.objects.create(tenant=tenant, agent=shelf["valve"], stars=5, title="great")
    Review.objects.create(tenant=tenant, agent=shelf["pump"], stars=3, title="ok")
    for agent in shelf.values():
        refresh_listing(agent)
    assert names(client, "sort=rating")[:2] == ["valve-guard", "pump-anomaly"]
    assert names(client, "min_rating=4") == ["valve-guard"]
    assert len(names(client, "sort=newest")) == 3
    buyer, _ = member_client("admin")
    free = shelf["valve"].plans.get()
    bought = place_order(buyer, shelf["valve"], free, "popular")
    assert bought.status_code == 201
    assert names(client, "sort=popularity")[0] == "valve-guard"


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("sort=newest&ordering=-name", "Give sort or ordering, not both"),
        ("sort=relevance", "sort=relevance ranks the results of a search"),
    ],
)
def test_a_sort_that_would_be_ignored_is_refused(shelf, query, detail):
    """``ordering`` replaced ``sort`` when both were given, and ``relevance`` without ``q`` kept
    the default order: each a 200 whose order was not the one asked for."""
    refused = APIClient().get(f"/api/v1/agents?{query}")
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_ordering")
    assert (refused.json()["field"], refused.json()["detail"][: len(detail)]) == ("sort", detail)
    assert names(APIClient(), "q=pump&sort=relevance")[0] == "pump-anomaly"
    assert names(APIClient(), "ordering=-name") == ["valve-guard", "pump-anomaly", "bearing-watch"]


def test_detail_shows_certificate_plans_ratings_and_marks_yanked(shelf, vendor):
    agent = shelf["pump"]
    newer = publish(
        AgentVersion.objects.get(pk=vendor.upload(package("1.1.0")).json()["version"]["id"])
    )
    AgentVersion.objects.filter(pk=newer.pk).update(yanked_at=timezone.now())
    detail = APIClient().get(f"/api/v1/agents/{agent.pk}").json()
    versions = {v["version"]: v for v in detail["versions"]}
    assert versions["1.1.0"]["yanked"] is True and versions["1.1.0"]["download_url"] is None
    certificate = versions["1.0.0"]["certificate"]
    assert (certificate["core"], certificate["latency_worst_us"], certificate["arena_bytes"]) == (
        "cortex-m4",
        420,
        16 * 1024,
    )
    assert [p["kind"] for p in detail["plans"]] == ["free"]
    assert detail["rating"] == {
        "average": None,
        "count": 0,
        "histogram": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
    }


def test_a_yanked_version_stays_marked_after_its_certificate_expired(shelf, vendor):
    agent = shelf["pump"]
    newer = publish(
        AgentVersion.objects.get(pk=vendor.upload(package("1.1.0")).json()["version"]["id"])
    )
    AgentVersion.objects.filter(pk=newer.pk).update(
        yanked_at=timezone.now(), certification_status="expired"
    )
    detail = APIClient().get(f"/api/v1/agents/{agent.pk}").json()
    versions = {v["version"]: v for v in detail["versions"]}
    assert versions["1.1.0"]["yanked"] is True and versions["1.1.0"]["download_url"] is None


def test_list_query_count_does_not_grow_with_page_size(vendor):
    for i in range(12):
        list_agent(
            vendor,
            f"agent-{i:02d}",
            agent_type="anomaly-detection",
            description="Anomaly detector number {i}.",
        )
    client = APIClient()

    def count(size):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/agents?page_size={size}&q=anomaly&free=true")
        assert response.status_code == 200 and len(response.json()["results"]) == size
        return len(queries)

    assert count(5) == count(12)


def test_refresh_catalogue_command_rebuilds_listings(shelf):
    CatalogueListing.objects.all().delete()
    out = StringIO()
    call_command("refresh_catalogue", stdout=out)
    assert out.getvalue().strip() == "3 agents listed."
    assert CatalogueListing.objects.get(agent=shelf["valve"]).latency_worst_us == 90


def test_refresh_catalogue_reads_agents_in_chunks_holding_no_cursor(shelf, monkeypatch):
    """Each listing commits on its own: a server-side cursor (``.iterator()``) outside a
    transaction was declared WITH HOLD, which PgBouncer's transaction pooling loses between
    fetches (docs/scaling.md); the agents are read a chunk at a time by id instead."""
    from marketplace.management.commands import refresh_catalogue

    seen, cursors = [], []

    def spy(agent):
        seen.append(agent.pk)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT name FROM pg_cursors")
                cursors.extend(cursor.fetchall())
        return refresh_listing(agent)

    monkeypatch.setattr(refresh_catalogue, "refresh_listing", spy)
    monkeypatch.setattr(refresh_catalogue, "CHUNK", 2)
    call_command("refresh_catalogue", stdout=StringIO())

    assert cursors == []
    assert seen == sorted(agent.pk for agent in shelf.values())


def test_a_version_certified_again_leaves_the_catalogue_until_its_review(shelf):
    """Submitted again, the version is not public: its listing goes with it (it stayed,
    with the old level and figures, until some other action rebuilt it)."""
    from certification.pipeline.actions import submit_for_certification

    version = shelf["bearing"].versions.get()
    assert CatalogueListing.objects.filter(agent=shelf["bearing"]).exists()

    submit_for_certification(version, "hardware")

    client = APIClient()
    assert names(client, "level=hardware") == []
    assert "bearing-watch" not in names(client)
    assert not CatalogueListing.objects.filter(agent=shelf["bearing"]).exists()


def test_the_schema_documents_the_keys_beside_a_pages_results():
    """Clients generated from the schema saw neither the catalogue's facets nor a review
    list's summary."""
    facets = documented_keys("GET /api/v1/agents", 200)
    assert {"count", "next", "previous", "results", "facets"} <= facets
    summary = documented_keys("GET /api/v1/agents/{agent_id}/reviews", 200)
    assert {"count", "results", "summary"} <= summary
