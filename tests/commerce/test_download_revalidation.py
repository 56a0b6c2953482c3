"""A client holding a package revalidates it with the ETag its download answered (the
package's digest, ``If-None-Match``): ``304 Not Modified``, no body, and no download
recorded. It got the whole file again, counted as another download."""

import pytest

from marketplace.models import Download
from tests.commerce.conftest import buy_free

pytestmark = pytest.mark.django_db


@pytest.fixture
def download(customer, published, agent, make_plan):
    """The customer's client, the download's URL and the ETag its first download answered."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    url = f"/api/v1/agents/{agent.pk}/versions/{published.version}/download"
    first = client.get(url)
    assert first.status_code == 200
    b"".join(first.streaming_content)
    assert first["ETag"] == f'"{published.digest}"'
    return client, url, first["ETag"]


@pytest.mark.parametrize(
    "if_none_match",
    [
        "{etag}",
        "W/{etag}",  # If-None-Match compares weakly (RFC 9110 13.1.2)
        '"another", {etag}',
        "*",  # any representation the client holds
    ],
)
def test_revalidating_the_package_held_is_304_and_not_another_download(download, if_none_match):
    client, url, etag = download

    response = client.get(url, HTTP_IF_NONE_MATCH=if_none_match.format(etag=etag))

    assert response.status_code == 304, response.status_code
    assert response.content == b""
    assert response["ETag"] == etag
    assert Download.objects.count() == 1


@pytest.mark.parametrize("if_none_match", ['"another"', "not-a-tag", 'W/"another"'])
def test_a_client_holding_another_package_downloads_it_again(download, if_none_match):
    client, url, _ = download

    response = client.get(url, HTTP_IF_NONE_MATCH=if_none_match)

    assert response.status_code == 200
    assert b"".join(response.streaming_content)
    assert Download.objects.count() == 2


def test_a_tenant_not_entitled_is_refused_whatever_it_holds(download, member_client):
    _, url, etag = download
    other, _ = member_client("admin")

    response = other.get(url, HTTP_IF_NONE_MATCH=etag)

    assert (response.status_code, response.json()["code"]) == (403, "not_entitled")
