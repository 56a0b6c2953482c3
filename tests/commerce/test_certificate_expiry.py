"""A version whose every certificate expired is no longer certified: the beat task
``expire_lapsed_certifications`` marks it ``expired``, and with that it leaves the catalogue,
customers can no longer download it, its badge says so, and a new run certifies it again."""

from datetime import timedelta

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from certification.models import LevelThresholds
from certification.pipeline.actions import expire_lapsed_certifications
from edgeplug.audit.models import AuditEvent
from edgeplug.timefmt import utc_iso
from tests.commerce.conftest import buy_free, catalogue
from tests.conftest import sign_in
from tests.factories import CertificationRunFactory, certificate_for

pytestmark = pytest.mark.django_db


def _issue(version, level: str, *, valid_days: int):
    LevelThresholds.objects.update_or_create(
        level=level, defaults={"certificate_validity_days": valid_days}
    )
    return certificate_for(CertificationRunFactory(version=version, level=level))


def _client(user) -> APIClient:
    """Signed in again: the clock has moved past the first token's life."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, user)['access']}")
    return client


def _download(client, version):
    return client.get(f"/api/v1/agents/{version.agent_id}/versions/{version.version}/download")


def test_an_expired_version_leaves_the_catalogue_and_stops_downloading(
    customer,
    vendor,
    published,
    agent,
    make_plan,
    clock,
    media_root,
    django_capture_on_commit_callbacks,
):
    certificate = _issue(published, "basic", valid_days=1)
    buy_free(customer[0], agent, make_plan)
    assert _download(customer[0], published).status_code == 200
    assert agent.name in catalogue(customer[0], "name")

    clock.shift(timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):  # the cached pages are forgotten
        assert expire_lapsed_certifications() == 1

    published.refresh_from_db()
    assert published.certification_status == "expired"
    assert not published.is_public
    buyer = _client(customer[1].user)
    assert agent.name not in catalogue(buyer, "name")
    assert _download(buyer, published).status_code == 404
    event = AuditEvent.objects.get(action="certification_expired")
    assert event.details == {"certified_until": utc_iso(certificate.expires_at)}

    # The vendor still sees its version, marked, in the API and on the portal's badge.
    seller = _client(vendor.membership.user)
    mine = seller.get(f"/api/v1/agents/{agent.pk}").json()["versions"]
    assert [(v["version"], v["certification_status"]) for v in mine] == [("1.0.0", "expired")]
    assert expire_lapsed_certifications() == 0  # once


def test_a_new_run_certifies_an_expired_version_again(vendor, published, clock):
    _issue(published, "basic", valid_days=1)
    clock.shift(timedelta(days=2))
    expire_lapsed_certifications()
    response = _client(vendor.membership.user).post(
        "/api/v1/certification/submit", {"version_id": published.pk}, format="json"
    )
    assert response.status_code == 202, response.json()
    published.refresh_from_db()
    assert published.certification_status == "queued"


def test_an_older_certificate_still_valid_keeps_the_version_certified(published, clock):
    _issue(published, "basic", valid_days=365)
    clock.shift(timedelta(hours=1))
    _issue(published, "standard", valid_days=1)
    clock.shift(timedelta(days=2))
    assert expire_lapsed_certifications() == 0
    published.refresh_from_db()
    assert published.certification_status == "certified"


def test_beat_runs_the_expiry_on_the_default_queue():
    from edgeplug.celery import app

    app.loader.import_default_modules()
    name = "certification.tasks.expire_lapsed_certifications"
    entry = settings.CELERY_BEAT_SCHEDULE["expire-lapsed-certifications"]
    assert (entry["task"], entry["schedule"]) == (name, timedelta(minutes=15))
    assert name in app.tasks
    assert app.amqp.router.route({}, name)["queue"].name == "default"
