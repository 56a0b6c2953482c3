"""A version whose certificate expired: the portal says when, offers no download, and
certificate.json is not found, as for a version never certified."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from certification.models import LevelThresholds
from tests.browser.runs import passed_run
from tests.factories import certificate_for

pytestmark = pytest.mark.django_db


def _url(version, tail=""):
    return f"/portal/agents/{version.agent_id}/versions/{version.version}/{tail}"


@pytest.fixture
def vendor(portal_vendor):
    return portal_vendor("developer", slug="acme-robotics")


@pytest.fixture
def expired(vendor):
    """A version whose only certificate, valid for a day, expired yesterday; the clock stays
    there (within the portal session's life)."""
    run = passed_run(agent__tenant=vendor.tenant)
    LevelThresholds.objects.create(level=run.level, certificate_validity_days=1)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        certificate = certificate_for(run)
        clock.shift(timedelta(days=2))
        yield certificate


def test_the_page_says_the_certificate_expired_and_offers_no_download(vendor, expired):
    page = vendor.client.get(_url(expired.version))
    assert page.status_code == 200
    text = page.content.decode()
    assert f"The certificate expired on {expired.expires_at:%Y-%m-%d}" in text
    assert "Download the certificate" not in text
    assert _url(expired.version, "certificate.json") not in text


def test_an_expired_certificate_is_not_downloadable(vendor, expired):
    response = vendor.client.get(_url(expired.version, "certificate.json"))
    assert response.status_code == 404
