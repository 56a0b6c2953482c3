"""``?ordering=`` on a list: the terms it publishes, a 400 for any other, and pages that
neither skip nor repeat a row among rows equal on the chosen field."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import EntitlementFactory, MembershipFactory, OrderFactory, PricePlanFactory
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/api/v1/tenant/audit-events", "/api/v1/agents", "/api/v1/orders"]
)
def test_an_unknown_ordering_is_refused_naming_the_terms_the_schema_publishes(
    schema, member_client, path
):
    """DRF dropped an ordering term it did not know and answered 200 in the default order."""
    pattern = next(
        p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "ordering"
    )["schema"]["pattern"]
    assert re.fullmatch(pattern, "-created_at")
    assert not re.fullmatch(pattern, "no_such_field")
    client, _ = member_client("admin")
    # What the pattern refuses, the API refuses: a term padded with a space or an empty one
    # after a comma was taken (200).
    for ordering in ("no_such_field", "-created_at,bogus", ",", "", "created_at,", " created_at"):
        assert not re.fullmatch(pattern, ordering)
        refused = client.get(path, {"ordering": ordering})
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_ordering"), ordering
        assert "created_at" in refused.json()["detail"]
        # The parameter it is about, as ?sort= names its own (it was only in the text).
        assert refused.json()["field"] == "ordering"
        assert_documented(refused, f"GET {path}")
    assert client.get(path, {"ordering": "-created_at"}).status_code == 200


def test_pages_ordered_by_a_field_many_rows_share_hold_every_row_once(member_client):
    client, membership = member_client("admin")
    plan = PricePlanFactory()
    made = {OrderFactory(tenant=membership.tenant, plan=plan, amount=500).pk for _ in range(60)}
    for ordering in ("amount", "-amount", "status,-amount"):
        seen = []
        for page in range(1, 7):
            body = client.get(
                "/api/v1/orders", {"ordering": ordering, "page": page, "page_size": 10}
            ).json()
            seen += [order["id"] for order in body["results"]]
        assert len(seen) == 60 and set(seen) == made, ordering


def test_every_published_ordering_term_orders_its_list(schema, member_client):
    """A term comes from the view's ordering_fields or its serializer's fields: one whose
    source is not a column would be a 500 (a FieldError) rather than an order."""
    client, _ = member_client("admin", is_vendor=True, is_customer=True)
    tried = 0
    for path, item in schema["paths"].items():
        parameters = item.get("get", {}).get("parameters", [])
        ordering = next((p for p in parameters if p["name"] == "ordering"), None)
        if ordering is None or "{" in path:
            continue
        if client.get(path).status_code != 200:
            continue  # not this member's list (staff, another role): its door is tested elsewhere
        terms = re.search(r"\(\?:([^)]*)\)", ordering["schema"]["pattern"]).group(1).split("|")
        for term in terms:
            for signed in (term.replace("\\", ""), "-" + term.replace("\\", "")):
                response = client.get(path, {"ordering": signed})
                assert response.status_code == 200, (path, signed, response.content[:300])
                tried += 1
    assert tried > 20


def test_equal_rows_follow_the_last_terms_direction(member_client):
    """Ties end on the id in the last term's direction, so ?ordering=-created_at is the
    default order of a list (-created_at, -id), not its ties reversed."""
    client, membership = member_client("admin")
    plan = PricePlanFactory()
    ids = [OrderFactory(tenant=membership.tenant, plan=plan, amount=500).pk for _ in range(5)]
    for ordering, expected in (("amount", ids), ("-amount", ids[::-1])):
        body = client.get("/api/v1/orders", {"ordering": ordering}).json()
        assert [order["id"] for order in body["results"]] == expected, ordering


def test_an_objects_page_refuses_the_ordering_its_schema_does_not_publish(schema, member_client):
    """get_object() filters its queryset too: GET /agents/{id}?ordering=x was a 400
    invalid_ordering, and one naming a term (latest_version) that ordered nothing a 500. An
    object's page publishes no ?ordering=, so it is refused as any parameter the operation
    does not publish (it was ignored until that rule)."""
    client, membership = member_client("admin")
    order = OrderFactory(tenant=membership.tenant)
    for ordering in ("x", "latest_version", "-amount"):
        shown = client.get(f"/api/v1/orders/{order.pk}", {"ordering": ordering})
        assert (shown.status_code, shown.json()["code"]) == (400, "unknown_parameter"), ordering
    assert client.get(f"/api/v1/orders/{order.pk}").status_code == 200
    parameters = schema["paths"]["/api/v1/orders/{id}"]["get"].get("parameters", [])
    assert "ordering" not in {parameter["name"] for parameter in parameters}


def test_every_published_term_is_a_name_the_list_s_rows_carry(schema, member_client):
    """A client orders by what it reads: members by ``email`` (it was ``user__email``),
    entitlements by ``agent_name`` and ``vendor`` (``agent__tenant__slug``), orders by
    ``agent`` (``agent_id``, beside a JSON breakdown and the processor's free text)."""
    client, membership = member_client("admin", is_vendor=True, is_customer=True)
    MembershipFactory(tenant=membership.tenant, role="operator")
    checked = 0
    for path, item in schema["paths"].items():
        operation = item.get("get", {})
        ordering = next(
            (p for p in operation.get("parameters", []) if p["name"] == "ordering"), None
        )
        if ordering is None or "{" in path:
            continue
        response = operation["responses"]["200"]["content"]["application/json"]["schema"]
        page = schema["components"]["schemas"][response["$ref"].rsplit("/", 1)[1]]
        (rows,) = (p for p in page["properties"].values() if p.get("type") == "array")
        row = rows["items"]["$ref"].rsplit("/", 1)[1]
        names = set(schema["components"]["schemas"][row]["properties"])
        terms = re.search(r"\(\?:([^)]*)\)", ordering["schema"]["pattern"]).group(1).split("|")
        assert {term.replace("\\", "") for term in terms} <= names, path
        checked += 1
    assert checked >= 8
    emails = client.get("/api/v1/tenant/members", {"ordering": "-email"}).json()["results"]
    assert [m["email"] for m in emails] == sorted((m["email"] for m in emails), reverse=True)
    for path, term in (
        ("/api/v1/tenant/members", "user__email"),
        ("/api/v1/entitlements", "agent__tenant__slug"),
        # A JSON document orders nothing a reader can follow.
        ("/api/v1/orders", "breakdown"),
        ("/api/v1/entitlements", "plan"),
        ("/api/v1/tenant/audit-events", "details"),
        ("/api/v1/wpk/list", "content"),
    ):
        refused = client.get(path, {"ordering": term})
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_ordering"), path
    for path, term in (("/api/v1/entitlements", "vendor,agent_name"), ("/api/v1/orders", "-agent")):
        assert client.get(path, {"ordering": term}).status_code == 200, path


def test_entitlements_ordered_by_status_follow_the_status_each_row_shows(member_client):
    """A row's ``status`` (and ``?status=``) is its status now (``status_at``): one whose
    validity ended shows ``expired`` before the expiry job stores it, and ``?ordering=status``
    sorted it by the stored ``active`` among the active ones."""
    client, membership = member_client("admin")
    now = timezone.now()
    EntitlementFactory(  # stored active, its validity over: shown expired
        order=OrderFactory(tenant=membership.tenant),
        valid_from=now - timedelta(days=40),
        valid_until=now - timedelta(days=1),
    )
    EntitlementFactory(order=OrderFactory(tenant=membership.tenant))
    for ordering, expected in (
        ("status", ["active", "expired"]),
        ("-status", ["expired", "active"]),
    ):
        rows = client.get("/api/v1/entitlements", {"ordering": ordering}).json()["results"]
        assert [row["status"] for row in rows] == expected, ordering
