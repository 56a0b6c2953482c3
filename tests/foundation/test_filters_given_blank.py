"""A list's filter that is not free text (an instant, a number, an id, a choice, true or
false, a name) given with nothing in it, or only blanks (``?since=%20``, ``?max_ram_kb=+``),
is a 400 ``blank``, as given empty (``?since=``): never read as left out, nor answered with the
field's own complaint about a value it was not given. Free text (a search) given blank
matches anything."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tenant/audit-events?since=%20",
        "/api/v1/tenant/audit-events?until=%09",
        "/api/v1/agents?level=%20",
        "/api/v1/agents?max_ram_kb=+",
        "/api/v1/agents?free=%20",
        "/api/v1/agents?vendor=%20%09",
        "/api/v1/orders?status=%20",
        "/api/v1/entitlements?agent=%20",
        "/api/v1/devices?active=%0A",
        "/api/v1/wpk/list?status=%20",
    ],
)
def test_a_filter_given_only_blanks_is_a_400_blank(member_client, url):
    client, _ = member_client("admin", is_customer=True, is_vendor=True)
    response = client.get(url)
    parameter = url.partition("?")[2].partition("=")[0]
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "blank", response.json()
    assert response.json()["errors"] == {parameter: ["Give a value or leave the parameter out."]}


def test_a_free_text_filter_given_only_blanks_matches_anything(member_client):
    client, _ = member_client("admin")
    assert client.get("/api/v1/agents?search=%20").status_code == 200
