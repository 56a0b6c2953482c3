"""What the OpenAPI schema says about a request is what the API checks (fast, in-process)."""

import json
import re
import shutil
import subprocess

import pytest

from marketplace.models import AgentVersion
from tests.vendors import package

pytestmark = pytest.mark.django_db


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_its_errors_with_the_error_body(schema):
    error = {"$ref": "#/components/schemas/Error"}
    for label, operation in _operations(schema):
        for status in ("400", "404", "429"):
            body = operation["responses"].get(status, {}).get("content", {})
            assert body.get("application/json", {}).get("schema") == error, (label, status)
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"code", "detail"}


def test_strict_request_bodies_say_they_refuse_unknown_fields(schema):
    assert schema["components"]["schemas"]["YankRequest"]["additionalProperties"] is False


def test_a_blank_yank_reason_is_refused_by_the_schema_and_by_the_api(schema, vendor):
    request = schema["components"]["schemas"]["YankRequest"]
    reason = request["properties"]["reason"]
    assert (reason["minLength"], reason["maxLength"]) == (1, 500)
    assert "reason" in request["required"]
    # invalid_reason's rule (in the ECMAScript escapes the schema writes).
    assert re.fullmatch(reason["pattern"], "first line\n\tsecond line")
    assert not re.fullmatch(reason["pattern"], "bad\x1b[1A")
    assert not re.fullmatch(reason["pattern"], "refund \u202e00.001")
    # A version of the caller's own: another tenant's (or a missing) one is a 404 first.
    uploaded = AgentVersion.objects.get(pk=vendor.upload(package("1.0.0")).json()["version"]["id"])
    url = f"/api/v1/agents/{uploaded.agent_id}/versions/1.0.0/yank"
    # The action's codes, as the portal's yank form and the admin answer them.
    for body, code in (({"reason": ""}, "reason_required"), ({}, "reason_required")):
        response = vendor.client.post(url, body, format="json")
        assert (response.status_code, response.json()["code"]) == (400, code)


def test_a_wpk_names_no_reviewer_as_a_run_names_none(schema):
    """Staff identities are not told to tenants (docs/roles.md): a package's row names no
    reviewer, neither in the list nor in the review's answer (both are a Wpk), and the list
    orders by none."""
    assert "reviewer" not in schema["components"]["schemas"]["Wpk"]["properties"]
    wpk = {"$ref": "#/components/schemas/Wpk"}
    listed = schema["components"]["schemas"]["PaginatedWpkList"]["properties"]["wpks"]
    assert listed["items"] == wpk
    answer = schema["paths"]["/api/v1/wpk/review/{id}"]["post"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == wpk
    parameters = schema["paths"]["/api/v1/wpk/list"]["get"]["parameters"]
    (ordering,) = (p["schema"]["pattern"] for p in parameters if p["name"] == "ordering")
    assert re.fullmatch(ordering, "-reviewed_at") and not re.fullmatch(ordering, "reviewer")


@pytest.mark.parametrize(
    "query",
    # page=0 was a 404 ("Invalid page.") and page_size=1_0 a page of ten: Python's int()
    [
        "page_size=true",
        "page_size=0",
        "page_size=-3",
        "page_size=1_0",
        "page=",
        "page=x",
        "page=0",
        "page=last",  # DRF's own word for the last page: not an integer, as the schema says
    ],
)
def test_a_page_or_page_size_that_is_not_a_positive_integer_is_400(member_client, query):
    client, _ = member_client("admin")
    response = client.get(f"/api/v1/agents?{query}")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_page", "invalid_page_size"}


@pytest.mark.parametrize("path", ["/api/v1/agents", "/api/v1/certification/queue"])
def test_a_vendor_filter_is_published_as_refused_empty(schema, path):
    """?vendor= and ?vendor=%20 are a 400 blank (they named no vendor and listed them all):
    the schema says so, and keeps its description."""
    (vendor,) = (p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "vendor")
    assert vendor["schema"]["minLength"] == 1 and "unknown_vendor" in vendor["description"]
    published = re.compile(vendor["schema"]["pattern"])
    assert [published.search(v) is not None for v in ("acme", " acme ", " ", "\t ")] == [
        True,
        True,
        False,
        False,
    ]


def _refused_in_javascript(pattern: str) -> set[int]:
    """The code points (after NUL) a JavaScript client's ``new RegExp(pattern)`` refuses as
    a whole value, as an OpenAPI validator or a form in a browser reads the pattern."""
    script = (
        "const p = new RegExp(process.argv[1]); const out = [];"
        "for (let c = 1; c <= 0x10ffff; c++) if (!p.test(String.fromCodePoint(c))) out.push(c);"
        "console.log(JSON.stringify(out));"
    )
    node = subprocess.run(
        ["node", "-e", script, pattern], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(node.stdout))


@pytest.mark.skipif(
    shutil.which("node") is None,
    reason="needs Node.js to read the published pattern as a JavaScript client does",
)
@pytest.mark.parametrize("path", ["/api/v1/agents", "/api/v1/certification/queue"])
def test_a_vendor_filter_pattern_refuses_in_javascript_what_the_server_calls_blank(
    schema, member_client, path
):
    """JavaScript's \\s is not what Python's str.strip() strips: ?vendor=%1C passed the
    published pattern and the server answered 400 blank, ?vendor=%EF%BB%BF (a BOM) the other
    way round. The pattern now names the characters the server strips, in any dialect."""
    (vendor,) = (p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "vendor")
    refused = _refused_in_javascript(vendor["schema"]["pattern"])
    client, _ = member_client("admin", is_vendor=True)
    for char in ("\x1c", "\x1f", "\x85", "\u3000", "\ufeff", "\u200b", " ", "\t"):
        response = client.get(path, {"vendor": char})
        assert response.status_code == 400, response.json()
        server_blank = response.json()["code"] == "blank"
        assert server_blank == (ord(char) in refused), (hex(ord(char)), response.json())
    assert refused == {c for c in range(1, 0x110000) if chr(c).isspace()}


def test_the_review_queue_publishes_only_the_statuses_it_holds(schema):
    """It published failed and error runs and approved or rejected ones, which it never
    holds (a 200 with none): now each is a 400 invalid_choice, as the schema says."""
    operation = schema["paths"]["/api/v1/certification/queue"]["get"]
    enums = {p["name"]: p["schema"].get("enum") for p in operation["parameters"]}
    assert (enums["status"], enums["review_status"]) == (
        ["passed", "queued", "running"],
        ["pending"],
    )


def test_a_page_past_the_last_says_so_with_its_own_code(member_client):
    """Before: 404 ``not_found`` "Invalid page.", read by a client as a missing object."""
    client, _ = member_client("admin")
    response = client.get("/api/v1/devices?page=5")
    assert response.status_code == 404
    assert response.json() == {
        "code": "page_out_of_range",
        "detail": "Page 5 is past the last page (1).",
    }


def test_page_sizes_in_range_still_work(member_client, schema):
    client, _ = member_client("admin")
    assert client.get("/api/v1/agents?page_size=5&page=1").status_code == 200
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/agents"]["get"]["parameters"]}
    assert parameters["page_size"]["schema"]["minimum"] == 1


@pytest.mark.parametrize("path", ["/api/v1/devices", "/api/v1/wpk/list"])
def test_a_page_size_above_the_largest_is_refused_naming_it(member_client, path):
    """?page_size=250 answered 200 rows and a next link: a client reading "fewer rows than I
    asked for" as the last page stopped there. Now a 400 naming the largest, 200."""
    client, _ = member_client("admin")
    response = client.get(path, {"page_size": 201})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_page_size"
    assert response.json()["field"] == "page_size"
    assert "200" in response.json()["detail"]
    assert client.get(path, {"page_size": 200}).status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/devices", "/api/v1/orders", "/api/v1/agents", "/api/v1/wpk/list"]
)
def test_the_schema_publishes_the_largest_page_size(schema, path):
    parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert parameters["page_size"]["schema"]["maximum"] == 200
    assert "maximum" not in parameters["page"]["schema"]


def test_a_submission_must_name_its_version_in_the_schema_too(schema):
    submit = schema["paths"]["/api/v1/certification/submit"]["post"]["requestBody"]
    assert submit["required"] is True
    assert schema["components"]["schemas"]["SubmitRequest"]["anyOf"] == [
        {"required": ["version_id"]},
        {"required": ["agent_id", "version"]},
    ]


def test_out_of_range_time_zone_offsets_are_a_400_not_a_500(member_client):
    client, _ = member_client("admin")
    ok = client.get("/api/v1/tenant/audit-events", {"since": "2020-01-01T00:00:00-22:54"})
    assert ok.status_code == 200
    bad = client.get("/api/v1/tenant/audit-events", {"since": "0001-01-01T00:00:00+23:00"})
    assert bad.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/tenant/audit-events", "/api/v1/agents"])
def test_an_ordering_with_a_nul_character_is_refused_as_the_schema_says(
    schema, member_client, path
):
    # Found by the schemathesis test: DRF drops an ordering term it does not know, so
    # ?ordering=<NUL> answered 200 although the schema's pattern forbids NUL in every string.
    ordering = next(
        p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "ordering"
    )
    assert not re.fullmatch(ordering["schema"]["pattern"], "-created_at\x00")
    client, _ = member_client("admin")
    response = client.get(f"{path}?ordering=-created_at%00")
    assert (response.status_code, response.json()["code"]) == (400, "nul_character")
    assert "\x00" not in response.content.decode()
    assert client.get(f"{path}?ordering=-created_at").status_code == 200


# A customer is refused the vendor's routes (403): the refusal's audit event named the path
# and PostgreSQL refused it (a 500).
NUL_URLS = [
    "",
    "GET /api/v1/agents/1/versions/%00",
    "GET /api/v1/agents/1/versions/1.0%00/bundle",
    "GET /api/v1/agents?q=pump%00",
    "POST /api/v1/vendor/keys/a%00b/revoke",
    "GET /api/v1/vendor/payouts/2026-01%00",
    "",
][1:-1]


@pytest.mark.parametrize("request_line", NUL_URLS)
def test_a_nul_character_anywhere_in_the_url_is_refused_with_its_code(member_client, request_line):
    """As the parser refuses one in a body (before: a 500 from PostgreSQL for a path segment,
    a 400 null_characters_not_allowed for ?ordering= only)."""
    client, _ = member_client("admin")
    method, path = request_line.split(" ")
    response = getattr(client, method.lower())(path)
    assert (response.status_code, response.json()["code"]) == (400, "nul_character")


def test_a_nul_in_one_query_parameter_names_that_parameter(member_client):
    """As a NUL in a JSON body's field names it (README: `field` when the refusal is about one
    request field); it named none."""
    client, _ = member_client("admin")
    response = client.get("/api/v1/agents", QUERY_STRING="search=a%00b&sort=newest")
    assert response.status_code == 400
    assert response.json() == {
        "code": "nul_character",
        "detail": "Query parameter 'search' may not contain the NUL character (%00).",
        "errors": {"search": ["May not contain the NUL character (%00)."]},
        "field": "search",
    }


def test_a_nul_in_several_query_parameters_names_each_and_no_one_field(member_client):
    client, _ = member_client("admin")
    body = client.get("/api/v1/agents", QUERY_STRING="search=%00&sort=new%00est").json()
    assert (body["code"], set(body["errors"])) == ("nul_character", {"search", "sort"})
    assert "field" not in body


@pytest.mark.parametrize("query", ["sea%00rch=a", "sea%00rch=a&sort=new%00est"])
def test_a_nul_in_a_query_parameters_name_names_no_field(member_client, query):
    """The name itself is no parameter of the request: it is not echoed back as one, as a NUL
    in a JSON body's key is not."""
    client, _ = member_client("admin")
    response = client.get("/api/v1/agents", QUERY_STRING=query)
    assert response.json() == {
        "code": "nul_character",
        "detail": "The URL may not contain the NUL character (%00).",
    }


def test_a_nul_character_in_a_page_url_outside_the_portal_is_a_plain_400(client):
    response = client.get("/accounts/%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
