"""Uploads racing each other, as concurrent web workers run them."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from marketplace.models import Agent, AgentVersion
from tests.concurrency import race
from tests.vendors import _file, package


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
)
def test_first_uploads_of_a_new_agent_at_once_all_land_under_one_agent(vendor, media_root):
    auth = vendor.client._credentials
    packages = [package(version=f"1.{n}.0") for n in range(4)]

    def upload(data: bytes) -> int:
        client = APIClient()
        client.credentials(**auth)
        response = client.post(
            "/api/v1/agents/upload",
            {"package": _file(data), "signature": vendor.sign(data), "key_id": vendor.key.key_id},
            format="multipart",
        )
        return response.status_code

    assert race(upload, packages) == [201] * 4
    agent = Agent.objects.get(tenant=vendor.tenant, name="pump-anomaly")
    versions = AgentVersion.objects.filter(agent=agent).values_list("version", flat=True)
    assert sorted(versions) == [f"1.{n}.0" for n in range(4)]
