"""What another tenant may learn about a vendor's unreleased versions: nothing. Filters, the
agent card and WPK step checks all look only at versions the caller may see."""

import pytest

from marketplace.models import AgentVersion
from marketplace.services import refresh_agent_card
from tests.factories import AgentFactory, AgentVersionFactory
from tests.packageformat.builders import make_manifest
from tests.registry.test_wpk_flow import _wpk
from tests.vendors import package

pytestmark = pytest.mark.django_db


def _publish(version_id: int) -> None:
    AgentVersion.objects.filter(pk=version_id).update(
        certification_status="certified", review_status="approved"
    )


@pytest.fixture
def released_and_hidden(vendor):
    """1.0.0 public on a cortex-m4; 2.0.0 unreleased, failed, for a cortex-m7, new text."""
    first = vendor.upload(package("1.0.0")).json()
    _publish(first["version"]["id"])
    hidden = package(
        "2.0.0",
        description="SECRET roadmap: next-generation pump model.",
        agent_type="predictive-maintenance",
        target={"core": "cortex-m7", "clock_mhz": 216, "ram_kb": 512, "flash_kb": 2048},
    )
    second = vendor.upload(hidden).json()
    AgentVersion.objects.filter(pk=second["version"]["id"]).update(certification_status="failed")
    return first["agent"]["id"]


def test_version_filters_ignore_hidden_versions(vendor, member_client, released_and_hidden):
    customer, _ = member_client("admin")
    for query in ({"certification_status": "failed"}, {"target_core": "cortex-m7"}):
        assert customer.get("/api/v1/agents", query).json()["count"] == 0, query
        own = vendor.client.get("/api/v1/agents", query).json()["results"]
        assert [a["id"] for a in own] == [released_and_hidden], query
    listed = customer.get("/api/v1/agents", {"target_core": "cortex-m4"}).json()["results"]
    assert [a["id"] for a in listed] == [released_and_hidden]


def test_an_unreviewed_upload_does_not_rewrite_the_public_card(
    vendor, member_client, released_and_hidden, django_capture_on_commit_callbacks
):
    customer, _ = member_client("admin")
    card = customer.get(f"/api/v1/agents/{released_and_hidden}").json()
    assert "SECRET" not in card["description"]
    assert card["agent_type"] == "anomaly-detection"
    assert customer.get("/api/v1/agents", {"search": "SECRET"}).json()["count"] == 0
    assert (
        customer.get("/api/v1/agents", {"agent_type": "predictive-maintenance"}).json()["count"]
        == 0
    )

    # Once 2.0.0 is public, its text is what everyone reads (the cached card is dropped when
    # the refresh commits).
    hidden = AgentVersion.objects.get(agent_id=released_and_hidden, version="2.0.0")
    with django_capture_on_commit_callbacks(execute=True):
        _publish(hidden.pk)
        refresh_agent_card(hidden.agent)
    assert "SECRET" in customer.get(f"/api/v1/agents/{released_and_hidden}").json()["description"]


def test_the_card_follows_the_newest_public_version_else_the_newest_upload():
    agent = AgentFactory()

    def version(number, text, **traits):
        manifest = make_manifest(name=agent.name, version=number, description=text)
        return AgentVersionFactory(agent=agent, version=number, manifest=manifest, **traits)

    def card():
        refresh_agent_card(agent)
        agent.refresh_from_db()
        return agent.description

    version("2.0.0", "two")
    version("1.0.0", "one, uploaded later")
    assert card() == "two"  # nothing public: the highest precedence, not the latest upload
    version("2.0.0-rc.1", "release candidate", public=True)
    older = version("1.5.0", "one and a half", public=True)
    assert card() == "release candidate"  # public beats the higher unreleased 2.0.0
    rc = AgentVersion.objects.get(agent=agent, version="2.0.0-rc.1")
    AgentVersion.objects.filter(pk=rc.pk).update(yanked_at=rc.created_at)
    assert card() == "one and a half"
    AgentVersion.objects.filter(pk=older.pk).update(yanked_at=older.created_at)
    assert card() == "two"  # no public version left: back to the newest upload


def test_wpk_steps_cannot_probe_for_another_vendors_hidden_agents(vendor, make_vendor):
    vendor.upload(package("1.0.0", name="stealth-agent"))  # never released
    rival = make_vendor(slug="rival-robotics")
    hidden = rival.client.post(
        "/api/v1/wpk/upload",
        _wpk(rival, steps=[{"agent": "acme-robotics/stealth-agent", "version": ">=1.0.0"}]),
        format="json",
    )
    absent = rival.client.post(
        "/api/v1/wpk/upload",
        _wpk(rival, steps=[{"agent": "acme-robotics/no-such-agent", "version": ">=1.0.0"}]),
        format="json",
    )
    assert (hidden.status_code, hidden.json()["code"]) == (
        absent.status_code,
        absent.json()["code"],
    )
    assert hidden.json()["code"] == "unknown_step_agent"
