"""Half of a UTF-16 pair (JSON's ``\\ud800`` with no partner) is no character: no text column
stores it. The API's JSON parser refuses it in any body with ``400 surrogate_character``
(a key's name and a yank's reason, whose fields leave their checks to the action, were a 500
from the database), before anything is written."""

import json

import pytest

from edgeplug import signing
from marketplace.models import AgentVersion, VendorKey
from tests.vendors import package

pytestmark = pytest.mark.django_db


def post_raw(client, path, body: dict):
    """``body`` as json.dumps writes it: a lone surrogate as its ``\\ud800`` escape."""
    return client.generic("POST", path, json.dumps(body), content_type="application/json")


def refused(response):
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "surrogate_character", response.json()


@pytest.mark.parametrize("name", ["laptop\ud800", "\udc00", "a\udbff\udbff"])
def test_a_key_name_holding_a_lone_surrogate_is_refused(vendor, name):
    public_key = signing.encode_b64(signing.generate_keypair().public_key)
    refused(
        post_raw(vendor.client, "/api/v1/vendor/keys", {"name": name, "public_key": public_key})
    )
    assert VendorKey.objects.filter(tenant=vendor.tenant).count() == 1  # the fixture's own


def test_a_yank_reason_holding_a_lone_surrogate_is_refused(vendor):
    body = vendor.upload(package()).json()
    path = f"/api/v1/agents/{body['agent']['id']}/versions/1.0.0/yank"
    refused(post_raw(vendor.client, path, {"reason": "CVE\ud800"}))
    assert AgentVersion.objects.get(pk=body["version"]["id"]).yanked_at is None


def test_a_pair_is_the_character_it_stands_for(vendor):
    public_key = signing.encode_b64(signing.generate_keypair().public_key)
    made = post_raw(
        vendor.client, "/api/v1/vendor/keys", {"name": "🔑 laptop", "public_key": public_key}
    )
    assert made.status_code == 201, made.json()
    assert VendorKey.objects.get(public_key=public_key).name == "🔑 laptop"
