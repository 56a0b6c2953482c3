"""Vendors read their own payout statements through the API: per month, one month in JSON or
CSV; admins and billing members only; never another vendor's figures."""

import csv
import io

import pytest

from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db

LIST = "/api/v1/vendor/payouts"


@pytest.fixture
def v1_client(books, member_client):
    return member_client("billing", tenant=books.v1)[0]


def test_a_vendor_lists_its_payouts_by_month(v1_client):
    response = v1_client.get(LIST, {"from": "2026-01", "to": "2026-04"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-01", "2026-04")
    assert [
        (p["period"], p["currency"], p["gross"], p["refunds"], p["net"]) for p in body["payouts"]
    ] == [
        ("2026-02", "EUR", 7100, 0, 5680),
        ("2026-03", "EUR", 1000, 6000, -4000),
    ]
    assert body["payouts"][0]["platform_fee"] == 1420 and body["payouts"][0]["fee_percent"] == "20"


def test_a_month_statement_in_json_names_agents(books, v1_client):
    body = v1_client.get(f"{LIST}/2026-02").json()
    assert body["vendor"] == "vendor-one" and body["period"] == "2026-02"
    assert body["payouts"] == [
        {
            "currency": "EUR",
            "gross": 7100,
            "refunds": 0,
            "fee_percent": "20",
            "platform_fee": 1420,
            "net": 5680,
        }
    ]
    assert sorted(a["gross"] for a in body["agents"]) == [2100, 5000]
    assert body["statement_csv"] == f"{LIST}/2026-02.csv"


@pytest.mark.parametrize("url", [f"{LIST}/2026-03.csv", f"{LIST}/2026-03?format=csv"])
def test_the_statement_as_csv(books, v1_client, url):
    response = v1_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["record"] for r in rows] == [
        "sale",
        "refund",
        "refund",
        "gross",
        "refunds",
        "platform_fee",
        "net",
    ]
    assert rows[-1]["amount_minor"] == "-4000"


def test_another_vendor_sees_only_its_own(books, member_client):
    client, _ = member_client("admin", tenant=books.v2)
    payouts = client.get(LIST, {"from": "2026-01", "to": "2026-04"}).json()["payouts"]
    assert [(p["period"], p["currency"], p["gross"]) for p in payouts] == [("2026-02", "USD", 1300)]
    # V1 has a statement for March; V2 has none: 404, not V1's figures.
    assert client.get(f"{LIST}/2026-03").status_code == 404
    assert client.get(f"{LIST}/2026-03.csv").status_code == 404
    # Saying why, as the portal does (it was DRF's 'Not found.', as for a wrong address).
    missing = client.get(f"{LIST}/2026-03").json()
    assert missing == {
        "code": "not_found",
        "detail": f"No payout statement for {books.v2.slug} in 2026-03: no sales and no "
        "refunds on finalized invoices that month (a sale counts once the invoice that "
        "charges it is finalized), so there is nothing to pay out.",
    }


@pytest.mark.parametrize("suffix", ["json", "CSV", "pdf", "csv.csv"])
def test_a_statement_asked_in_a_format_it_is_not_given_in_says_so(v1_client, suffix):
    """It was invalid_period, 'A period is a calendar month…', of a month that is one."""
    response = v1_client.get(f"{LIST}/2026-02.{suffix}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_choice")
    assert response.json()["field"] == "format"
    assert response.json()["detail"] == (
        f"'.{suffix}' is not a format of the statement: it is JSON at "
        f"{LIST}/2026-02 and CSV at {LIST}/2026-02.csv."
    )


@pytest.mark.parametrize("asked", ["json", "xml", "CSV", ""])
def test_a_format_parameter_the_csv_address_does_not_answer_is_a_400(v1_client, asked):
    """The .csv address answers CSV only: ``?format=json`` (or xml, or empty) beside it was
    not read, and the statement came back as CSV, 200, where the JSON address answers
    ``?format=xml`` 400 invalid_choice."""
    response = v1_client.get(f"{LIST}/2026-02.csv", {"format": asked})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_choice")
    assert "(csv)" in response.json()["errors"]["format"][0]
    # Named in ``field`` as the refused suffix is: one key for one refusal of one parameter.
    assert response.json()["field"] == "format"
    agreeing = v1_client.get(f"{LIST}/2026-02.csv", {"format": "csv"})
    assert agreeing.status_code == 200 and agreeing["Content-Type"].startswith("text/csv")


def test_the_schema_publishes_csv_as_the_csv_address_only_format(v1_client):
    """It published csv and json there, as at the JSON address."""
    schema = v1_client.get("/api/v1/schema/?format=json").json()
    for path, formats in (("{period}.csv", ["csv"]), ("{period}", ["csv", "json"])):
        operation = schema["paths"][f"{LIST}/{path}"]["get"]
        (published,) = (p["schema"] for p in operation["parameters"] if p["name"] == "format")
        assert published["enum"] == formats


def test_the_schema_documents_the_csv_address_as_csv_only(books, v1_client):
    """The .csv address answers CSV only (Accept: application/json is 406), but the schema
    promised it a JSON PayoutStatement too: a client generated from it asked for JSON there."""
    schema = v1_client.get("/api/v1/schema/?format=json").json()
    csv_ok = schema["paths"][f"{LIST}/{{period}}.csv"]["get"]["responses"]["200"]
    json_ok = schema["paths"][f"{LIST}/{{period}}"]["get"]["responses"]["200"]
    assert set(csv_ok["content"]) == {"text/csv"}
    assert set(json_ok["content"]) == {"application/json", "text/csv"}
    refused = v1_client.get(f"{LIST}/2026-03.csv", HTTP_ACCEPT="application/json")
    assert (refused.status_code, refused.json()["code"]) == (406, "not_acceptable")
    assert_documented(v1_client.get(f"{LIST}/2026-03.csv"), f"GET {LIST}/{{period}}.csv")


@pytest.mark.parametrize("role", ["developer", "operator"])
def test_roles_other_than_admin_and_billing_are_refused(books, member_client, role):
    client, _ = member_client(role, tenant=books.v1)
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}/2026-02").status_code == 403


def test_a_customer_tenant_has_no_payouts(books, member_client):
    client, _ = member_client("admin", tenant=books.c1.tenant)
    assert client.get(LIST).status_code == 403


@pytest.mark.parametrize(
    "url,field",
    [
        (f"{LIST}/2026-13", "period"),
        # A suffix after a month that is not one: the month is what is wrong (.json was a 500).
        (f"{LIST}/2026-13.json", "period"),
        (f"{LIST}/.json", "period"),
        (f"{LIST}/.csv", "period"),
        (f"{LIST}/26-02", "period"),
        (f"{LIST}?from=2026-05&to=2026-02", "from"),
        (f"{LIST}?to=march", "to"),
        (f"{LIST}?from=2026-13&to=2026-04", "from"),
        # Given but empty is not a month either (not the default range).
        (f"{LIST}?from=", "from"),
        (f"{LIST}?to=", "to"),
        (f"{LIST}?from=&to=", "to"),
        (f"{LIST}?from=&to=2026-04", "from"),
        (f"{LIST}?from=2026-01&to=", "to"),
    ],
)
def test_an_unreadable_period_is_a_400_with_its_code(v1_client, url, field):
    """And the parameter it is about (``field``; before, only ``from`` after ``to`` named it,
    and ``?from=2026-13&to=2026-04`` did not say which month was unreadable)."""
    response = v1_client.get(url)
    assert response.status_code == 400 and response.json()["code"] == "invalid_period"
    assert response.json()["field"] == field
    if "must not be after" not in response.json()["detail"]:
        assert response.json()["detail"].startswith(f"{field} must be a calendar month")


def test_anonymous_callers_are_refused(api):
    assert api.get(LIST).status_code == 401
    assert api.get(f"{LIST}/2026-02").status_code == 401
