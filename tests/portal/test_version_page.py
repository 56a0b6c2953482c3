"""A version's page: manifest and digest, runs with stage states and reports, budgets as bars,
the certificate and its verify command (or the day it expired), live progress as JSON, yank
and certify again."""

import html
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from certification.certificates import platform_keys
from certification.models import CertificationRun, LevelThresholds
from certification.pipeline.actions import expire_lapsed_certifications
from tests.browser.runs import failed_run_with_every_finding, passed_run
from tests.conftest import sign_in
from tests.factories import AgentVersionFactory, CertificationRunFactory, certificate_for
from tests.review.finding_kinds import FINDING_KINDS, STAGE_METRICS

pytestmark = pytest.mark.django_db


def _url(version, tail=""):
    return f"/portal/agents/{version.agent_id}/versions/{version.version}/{tail}"


@pytest.fixture
def vendor(portal_vendor):
    return portal_vendor("developer", slug="acme-robotics")


def test_a_passed_run_shows_every_stage_report_bars_and_the_certificate(vendor):
    run = passed_run(agent__tenant=vendor.tenant)
    certificate_for(run)
    page = vendor.client.get(_url(run.version))
    assert page.status_code == 200
    text = page.content.decode()
    for stage in STAGE_METRICS:
        assert f'id="run-{run.pk}-stage-{stage}"' in text
    assert "arena kb: 6 of 16 KiB (38%)" in text
    assert "latency on the emulated board (median)" not in text  # no gate in these figures
    assert "the advisory database is empty" in text
    assert "Download the certificate" in text
    package_file = f"{run.version.agent.name}-{run.version.version}.epk"
    key = run.version.signing_key.public_key
    assert f"edgeplug verify {package_file} --public-key {key} --certificate" in text
    assert run.version.manifest["description"] in text


def test_budget_figures_are_rounded_and_microseconds_are_written_so(vendor):
    """The stage's figures are exact (8.90625) and its unit ASCII ("us"): the page rounds to
    two places and writes µs, as the latency bars beside them do."""
    run = passed_run(agent__tenant=vendor.tenant)
    performance = run.results.get(test_suite="performance")
    check = {"name": "latency_vs_declared", "value": 8.90625, "limit": 400.0, "unit": "us"}
    performance.metrics = {**performance.metrics, "checks": [check]}
    performance.save(update_fields=["metrics"])

    text = html.unescape(vendor.client.get(_url(run.version)).content.decode())

    assert "latency vs declared: 8.91 of 400 µs (2%)" in text


def test_a_version_never_submitted_shows_no_review_to_wait_for(vendor):
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    assert version.review_status == "pending"

    text = vendor.client.get(_url(version)).content.decode()

    assert "review: pending" not in text and "Uncertified" in text


def test_findings_of_every_kind_are_readable(vendor):
    run = failed_run_with_every_finding()
    run.version.agent.tenant = vendor.tenant
    run.version.agent.save()
    type(run.version).objects.filter(pk=run.version.pk).update(tenant=vendor.tenant)
    CertificationRun.objects.filter(pk=run.pk).update(tenant=vendor.tenant)
    text = html.unescape(vendor.client.get(_url(run.version)).content.decode())
    for kind in FINDING_KINDS.values():
        for shown in kind.shows:
            assert shown in text, shown


def test_the_certificate_downloads_as_the_document_devices_verify(vendor):
    run = passed_run(agent__tenant=vendor.tenant)
    certificate = certificate_for(run)
    response = vendor.client.get(_url(run.version, "certificate.json"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content) == certificate.document()


def test_an_active_run_reports_its_stage_progress_as_json(vendor):
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    run = CertificationRunFactory(version=version, level="standard", running=True)
    from tests.factories import CertificationResultFactory

    CertificationResultFactory(run=run, test_suite="validation")
    body = vendor.client.get(_url(version, "runs.json")).json()
    assert body["active"] is True
    assert (
        'data-stage="validation"><span class="stage">validation</span> <span class="state">pass'
        in body["html"]
    )
    assert (
        'data-stage="invariants"><span class="stage">invariants</span> <span class="state">running'
        in body["html"]
    )
    assert (
        'data-stage="security"><span class="stage">security</span> <span class="state">pending'
        in body["html"]
    )
    page = vendor.client.get(_url(version)).content.decode()
    assert 'data-active="true"' in page and "portal/runs.js" in page


def test_a_run_that_finished_on_another_day_says_which(vendor):
    run = CertificationRunFactory(
        version=AgentVersionFactory(agent__tenant=vendor.tenant, certified=True)
    )
    submitted = datetime(2026, 3, 31, 23, 50, tzinfo=UTC)
    CertificationRun.objects.filter(pk=run.pk).update(
        created_at=submitted, finished_at=submitted + timedelta(minutes=20)
    )
    text = vendor.client.get(_url(run.version)).content.decode()
    assert "Submitted 2026-03-31 23:50:00 UTC, finished 2026-04-01 00:10:00 UTC" in text


def _messages(page) -> str:
    return " ".join(str(m) for m in page.context["messages"])


def test_yanking_needs_a_reason_and_hides_the_version(vendor):
    version = AgentVersionFactory(agent__tenant=vendor.tenant, public=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, vendor.user)['access']}")
    yank_at = f"/api/v1/agents/{version.agent_id}/versions/{version.version}/yank"
    from_api = api.post(yank_at, {"reason": " "}, format="json")
    assert (from_api.status_code, from_api.json()["code"]) == (400, "reason_required")
    assert from_api.json()["detail"] == (
        "Say why you are yanking this version: customers who bought it read the reason."
    )
    empty = vendor.client.post(_url(version, "yank/"), {"reason": " "})
    # The version page again, the refusal by the reason (not a flash at the top).
    assert empty.status_code == 400
    html = empty.content.decode()
    assert escape(from_api.json()["detail"]) in html
    assert 'aria-invalid="true"' in html
    version.refresh_from_db()
    assert version.yanked_at is None
    page = vendor.client.post(_url(version, "yank/"), {"reason": "wrong model"}, follow=True)
    version.refresh_from_db()
    assert version.yanked_at is not None and version.yank_reason == "wrong model"
    assert "customers no longer see it" in page.content.decode()
    text = vendor.client.get("/portal/").content.decode()
    assert "was yanked on" in text and "wrong model" in text


def test_a_reason_too_long_is_refused_with_the_limit(vendor):
    version = AgentVersionFactory(agent__tenant=vendor.tenant, public=True)
    page = vendor.client.post(_url(version, "yank/"), {"reason": "x" * 501})
    assert page.status_code == 400
    html = page.content.decode()
    assert "reason_too_long" in html and "Keep the reason to 500 characters (501 given)." in html
    assert "x" * 501 + "</textarea>" in html  # what was typed, kept to shorten
    version.refresh_from_db()
    assert version.yanked_at is None


def test_a_reason_within_the_textareas_maxlength_is_taken_with_its_line_breaks(vendor):
    """The browser counts a line break as one character against maxlength="500" and sends
    it as CRLF: 500 characters typed arrive as 501."""
    version = AgentVersionFactory(agent__tenant=vendor.tenant, public=True)
    page = vendor.client.get(_url(version)).content.decode()
    assert 'maxlength="500"' in page
    typed = "a" * 250 + "\n" + "b" * 249
    sent = typed.replace("\n", "\r\n")
    assert len(sent) == 501
    page = vendor.client.post(_url(version, "yank/"), {"reason": sent}, follow=True)
    assert "customers no longer see it" in _messages(page)
    version.refresh_from_db()
    assert version.yank_reason == typed


def test_an_unknown_certification_level_is_said(vendor):
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    page = vendor.client.post(_url(version, "certify/"), {"level": "platinum"}, follow=True)
    assert page.redirect_chain[-1][0] == _url(version)
    assert "Select a valid choice. platinum is not one of the available choices." in _messages(page)
    assert not CertificationRun.objects.filter(version=version).exists()


def test_a_failed_run_is_an_alert_on_the_dashboard(vendor):
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    CertificationRunFactory(version=version, status="failed", current_stage="invariants")
    text = vendor.client.get("/portal/").content.decode()
    assert "ended <strong>failed</strong> at invariants" in text


def test_certify_again_refuses_while_a_run_is_active(vendor):
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    CertificationRunFactory(version=version, status="running", finished_at=None)
    page = vendor.client.post(_url(version, "certify/"), {"level": "basic"}, follow=True)
    assert "run_in_progress" in page.content.decode()
    assert CertificationRun.objects.filter(version=version).count() == 1


def test_the_agent_page_lists_every_version_newest_first(vendor):
    old = AgentVersionFactory(agent__tenant=vendor.tenant, version="1.9.0")
    AgentVersionFactory(agent=old.agent, version="1.10.0")
    CertificationRunFactory(version=old, status="failed")
    text = vendor.client.get(f"/portal/agents/{old.agent_id}/").content.decode()
    assert text.index(">1.10.0<") < text.index(">1.9.0<")
    assert "basic, failed" in text


# A version whose certificate expired: the page says when, offers no download, and
# certificate.json is not found, as for a version never certified.


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


def test_a_certificate_whose_key_was_withdrawn_is_not_said_to_have_expired(vendor, settings):
    """Its expiry is still ahead: what ended it is the platform key (revoked, or no longer in
    the key set), which the page says, instead of an expiry date in the future."""
    certificate = certificate_for(passed_run(agent__tenant=vendor.tenant))
    new = platform_keys.generate_key_entry()
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": [new], "active": new["key_id"]})
    text = vendor.client.get(_url(certificate.version)).content.decode()
    assert "The platform key that signed its certificate was revoked or withdrawn" in text
    assert "expired on" not in text and "Download the certificate" not in text


def test_once_the_expiry_has_run_the_badge_says_expired(vendor, expired):
    assert "badge cert-certified" in vendor.client.get(_url(expired.version)).content.decode()
    expire_lapsed_certifications()
    text = vendor.client.get(_url(expired.version)).content.decode()
    assert '<span class="badge cert-expired">Expired</span>' in text


def test_an_expired_certificate_is_not_downloadable(vendor, expired):
    response = vendor.client.get(_url(expired.version, "certificate.json"))
    assert response.status_code == 404


def test_the_agent_page_shows_its_versions_a_page_at_a_time(vendor):
    """Before: every version on one page (an agent with hundreds of releases read them all)."""
    agent = AgentVersionFactory(agent__tenant=vendor.tenant, version="1.0.0").agent
    for minor in range(1, 26):
        AgentVersionFactory(agent=agent, version=f"1.{minor}.0")
    url = f"/portal/agents/{agent.pk}/"

    first = vendor.client.get(url).content.decode()
    assert ">1.25.0<" in first and ">1.1.0<" in first and ">1.0.0<" not in first
    assert f'href="{url}?page=2"' in first and "Page 1 of 2" in first
    second = vendor.client.get(f"{url}?page=2").content.decode()
    assert ">1.0.0<" in second and ">1.1.0<" not in second
    assert f'href="{url}"' in second and "Newer versions" in second
    # The first for one that is no page number, the last past the end, as the reviews.
    for nonsense, shown in (("x", 1), ("0", 1), ("", 1), ("99", 2)):
        page = vendor.client.get(f"{url}?page={nonsense}")
        assert page.status_code == 200 and f"Page {shown} of 2" in page.content.decode()
