"""GET /api/v1/agents/{id}/versions/{version}/certificate hands out the certificate that vouches
for the version now (marketplace.certified): never an expired one, as deploy, device
assignments, the bundle and the catalogue already see it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from certification.models import LevelThresholds
from tests.conftest import sign_in
from tests.factories import AgentVersionFactory, CertificationRunFactory, certificate_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(vendor):
    return AgentVersionFactory(agent__tenant=vendor.tenant, public=True)


def _issue(version, level: str, *, valid_days: int):
    LevelThresholds.objects.update_or_create(
        level=level, defaults={"certificate_validity_days": valid_days}
    )
    return certificate_for(CertificationRunFactory(version=version, level=level))


def _get(vendor, version):
    """Ask as the vendor, signed in again: the clock has moved past the first token's life."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {sign_in(client, vendor.membership.user)['access']}"
    )
    return client.get(f"/api/v1/agents/{version.agent_id}/versions/{version.version}/certificate")


def test_a_version_whose_only_certificate_expired_is_not_certified(vendor, version, clock):
    _issue(version, "basic", valid_days=1)
    clock.shift(timedelta(days=2))
    response = _get(vendor, version)
    assert (response.status_code, response.json()["code"]) == (404, "not_certified")


def test_an_expired_newer_certificate_leaves_the_older_valid_one_in_force(vendor, version, clock):
    lasting = _issue(version, "basic", valid_days=365)
    clock.shift(timedelta(hours=1))
    _issue(version, "standard", valid_days=1)
    clock.shift(timedelta(days=2))
    response = _get(vendor, version)
    assert response.status_code == 200, response.json()
    assert response.json() == lasting.document()


def test_the_newest_certificate_still_valid_is_the_one_handed_out(vendor, version, clock):
    _issue(version, "basic", valid_days=365)
    clock.shift(timedelta(hours=1))
    newer = _issue(version, "standard", valid_days=365)
    response = _get(vendor, version)
    assert response.json() == newer.document()


def test_certifying_an_agent_without_a_version_left_is_a_conflict(vendor, version):
    version.yanked_at = timezone.now()
    version.save(update_fields=["yanked_at"])
    response = vendor.client.put(
        f"/api/v1/agents/{version.agent_id}/certify", {"level": "basic"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "no_version")


def test_certifying_a_named_yanked_version_says_it_is_yanked_at_both_doors(vendor, version):
    """PUT /agents/{id}/certify and POST /certification/submit refuse a yanked version alike."""
    version.yanked_at = timezone.now()
    version.save(update_fields=["yanked_at"])
    by_agent = vendor.client.put(
        f"/api/v1/agents/{version.agent_id}/certify",
        {"version": version.version, "level": "basic"},
        format="json",
    )
    by_submit = vendor.client.post(
        "/api/v1/certification/submit", {"version_id": version.pk}, format="json"
    )
    for response in (by_agent, by_submit):
        assert (response.status_code, response.json()["code"]) == (409, "version_yanked")
