"""U+0000 in a form or multipart body: the API's JSON parser refuses it in JSON
(``nul_character``), but a multipart field reaches the action as sent. A yank's reason
holding it was a 500 from the database; every reason goes through ``require_reason``,
which now refuses it with ``400 nul_character`` before anything is written."""

import pytest

from marketplace.models import AgentVersion
from tests.vendors import package

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("reason", ["CVE-2026-1\x00", "\x00"])
def test_a_yank_reason_holding_nul_in_a_multipart_body_is_refused(vendor, reason):
    body = vendor.upload(package()).json()
    path = f"/api/v1/agents/{body['agent']['id']}/versions/1.0.0/yank"

    response = vendor.client.post(path, {"reason": reason}, format="multipart")

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "nul_character", response.json()
    assert AgentVersion.objects.get(pk=body["version"]["id"]).yanked_at is None


def test_the_same_reason_without_it_yanks(vendor):
    body = vendor.upload(package()).json()
    path = f"/api/v1/agents/{body['agent']['id']}/versions/1.0.0/yank"

    response = vendor.client.post(path, {"reason": "CVE-2026-1"}, format="multipart")

    assert response.status_code == 200, response.content
    assert AgentVersion.objects.get(pk=body["version"]["id"]).yanked_at is not None


@pytest.mark.parametrize("field", ["key_id", "signature"])
def test_an_upload_field_holding_nul_is_refused_not_a_500(vendor, field):
    """The upload is multipart only: its action-checked fields (``key_id``, ``signature``)
    reached the database's lookup of the key as sent, a 500 (PostgreSQL stores no NUL)."""
    data = package()
    sent = {"key_id": vendor.key.key_id, "signature": vendor.sign(data)}
    sent[field] += "\x00"

    response = vendor.upload(data, **sent)

    assert response.status_code == 400, response.content
    assert (response.json()["code"], response.json()["field"]) == ("nul_character", field)
    assert not AgentVersion.objects.exists()
