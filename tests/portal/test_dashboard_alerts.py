"""The dashboard's alerts: an advisory published after certification that hits a certified
version shows there (only the vendor's own), and so do failed runs and yanked versions."""

import pytest
from django.utils import timezone

from certification.models import Advisory, ScanFinding
from tests.factories import AgentVersionFactory, CertificationRunFactory, DeviceFactory

pytestmark = pytest.mark.django_db


def _finding(version, osv_id, known=False):
    now = timezone.now()
    advisory = Advisory.objects.create(
        osv_id=osv_id, modified=now, raw={}, imported_at=now, updated_at=now, severity="high"
    )
    return ScanFinding.objects.create(
        tenant=version.tenant,
        version=version,
        advisory=advisory,
        component="tflite-micro",
        component_version="0.1.0",
        purl="pkg:pypi/tflite-micro@0.1.0",
        severity="high",
        fixed_versions=["0.1.1"],
        known_at_certification=known,
    )


def test_a_new_advisory_on_a_certified_version_is_an_alert(portal_vendor):
    vendor = portal_vendor("developer")
    mine = AgentVersionFactory(agent__tenant=vendor.tenant, certified=True)
    _finding(mine, "GHSA-mine-0001")
    _finding(mine, "GHSA-old-0002", known=True)
    _finding(AgentVersionFactory(certified=True), "GHSA-theirs-0003")
    alerts = vendor.client.get("/portal/").content.decode()
    assert "new advisory <strong>GHSA-mine-0001</strong> (high) hits tflite-micro 0.1.0" in alerts
    assert "fixed in 0.1.1" in alerts
    assert "GHSA-old-0002" not in alerts
    assert "GHSA-theirs-0003" not in alerts


def test_a_yanked_version_still_deployed_says_on_how_many_devices(portal_vendor):
    from datetime import timedelta

    from marketplace.models import Deployment
    from tests.factories import TenantFactory

    vendor = portal_vendor("developer")
    long_ago = timezone.now() - timedelta(days=400)
    version = AgentVersionFactory(
        agent__tenant=vendor.tenant, yanked_at=long_ago, yank_reason="unsafe at low voltage"
    )
    customer = TenantFactory()
    for n in range(2):
        device = DeviceFactory(tenant=customer, name=f"press {n}")
        Deployment.objects.create(
            tenant=customer, device=device, agent=version.agent, version=version
        )
    alerts = vendor.client.get("/portal/").content.decode()
    assert "unsafe at low voltage — <strong>still deployed on 2 devices</strong>" in alerts
    assert customer.name not in alerts


def test_runs_that_ended_without_passing_are_alerts_and_a_passed_one_is_not(portal_vendor):
    """Failed and errored runs of the vendor's own (``CertificationRun.objects.failed()``)."""
    vendor = portal_vendor("developer")
    for status, stage, code in (
        ("failed", "invariants", ""),
        ("error", "simulation", "firmware_timeout"),
        ("passed", "", ""),
    ):
        CertificationRunFactory(
            version__agent__tenant=vendor.tenant,
            version__version=f"1.0.0-{status}",
            status=status,
            current_stage=stage,
            error_code=code,
        )
    CertificationRunFactory(status="failed", version__version="9.9.9-theirs")
    alerts = vendor.client.get("/portal/").content.decode()
    assert "ended <strong>failed</strong> at invariants." in alerts
    assert "ended <strong>error</strong> at simulation (firmware_timeout)." in alerts
    assert "ended <strong>passed</strong>" not in alerts
    assert "9.9.9-theirs" not in alerts
