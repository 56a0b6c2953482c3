"""Seats are enforced while deployed, not only when deploying: once a refund leaves fewer
seats in force than deployments, the oldest deployments keep their seats and the rest are
told to stop, cannot fetch the bundle and have their usage refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.models import Deployment, Device, Order
from tests.commerce.conftest import admin_client, place_order, refund_in_admin, save_card
from tests.commerce.test_deployments import as_device, deploy, register
from tests.query_plans import analyze, counts_rows_read, queries_of, rows_read_by

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunded_down_to_one_seat(stripe_on, customer, published, agent, make_plan, certificate):
    """3 seats (order A) and 1 seat (order B) bought, the agent deployed on 4 devices (hw-0
    first), then finance refunds order A in the admin: 1 seat in force. The devices' clients,
    oldest deployment first."""
    client, _ = customer
    plan = make_plan("one_time", currency="USD", amount=1900)
    save_card(client)
    order_a = place_order(client, agent, plan, "order-a", seats=3).json()
    order_b = place_order(client, agent, plan, "order-b", seats=1).json()
    assert (order_a["status"], order_b["status"]) == ("completed", "completed")
    devices = [register(client, f"hw-{n}") for n in range(4)]
    for device in devices:
        assert deploy(client, device, published).status_code == 201
    finance, _ = admin_client("finance")
    refund_in_admin(finance, order_a["id"])
    assert Order.objects.get(pk=order_a["id"]).status == "refunded"
    return client, devices, [as_device(device) for device in devices]


def test_deployments_beyond_the_seats_in_force_are_told_to_stop(refunded_down_to_one_seat):
    _, _, apis = refunded_down_to_one_seat
    oldest = apis[0].get("/api/v1/device/assignments").json()
    assert (len(oldest["run"]), oldest["stop"]) == (1, [])
    for api in apis[1:]:
        body = api.get("/api/v1/device/assignments").json()
        assert body["run"] == []  # before: all four ran on one seat
        [stop] = body["stop"]
        assert stop["reason"] == "seat_limit_exceeded"


def test_a_device_beyond_the_seats_cannot_fetch_the_bundle(refunded_down_to_one_seat, agent):
    _, _, apis = refunded_down_to_one_seat
    url = f"/api/v1/agents/{agent.pk}/versions/1.0.0/bundle"
    assert apis[0].get(url).status_code == 200
    for api in apis[1:]:
        refused = api.get(url)
        assert refused.status_code == 404  # before: 200, the bundle
        assert refused.json()["code"] == "not_found"


def session(agent, seq: int, start=None) -> dict:
    # Now by default: since the fixture's purchase, usage from before is not entitled.
    start = timezone.now() if start is None else start
    return {
        "seq": seq,
        "kind": "session",
        "agent": agent.pk,
        "version": "1.0.0",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=1)).isoformat(),
    }


def reported(api, agent, seq: int = 1, start=None) -> tuple:
    events = [session(agent, seq, start)]
    response = api.post("/api/v1/usage/events", {"events": events}, format="json")
    assert response.status_code == 200, response.json()
    [result] = response.json()["results"]
    return result["outcome"], result.get("code")


def test_usage_beyond_the_seats_in_force_is_not_entitled(refunded_down_to_one_seat, agent):
    _, _, apis = refunded_down_to_one_seat
    assert reported(apis[0], agent) == ("accepted", None)
    for api in apis[1:]:
        assert reported(api, agent) == ("rejected", "not_entitled")  # before: accepted, billed


def test_hours_run_before_the_seats_were_cut_are_taken_when_reported_after(
    refunded_down_to_one_seat, agent
):
    """An event is judged by the seats valid when it started: all four devices held one
    before the refund, so what they ran then is taken, whenever they report it."""
    _, _, apis = refunded_down_to_one_seat
    # The last deployment made, before the refund.
    before = Deployment.objects.latest("created_at").created_at
    assert before < Order.objects.get(status="refunded").refunded_at
    for seq, api in enumerate(apis, start=1):
        assert reported(api, agent, seq, start=before) == ("accepted", None)
        assert reported(api, agent, seq + 10) == (
            ("accepted", None) if api is apis[0] else ("rejected", "not_entitled")
        )


def test_removing_a_deployment_hands_its_seat_to_the_next_oldest(refunded_down_to_one_seat, agent):
    client, devices, apis = refunded_down_to_one_seat
    first = devices[0]["device"]["id"]
    [deployment] = client.get(f"/api/v1/devices/{first}/deployments").json()["results"]
    removed = client.delete(f"/api/v1/devices/{first}/deployments/{deployment['id']}")
    assert removed.status_code == 204
    assert len(apis[1].get("/api/v1/device/assignments").json()["run"]) == 1
    assert reported(apis[1], agent) == ("accepted", None)
    assert apis[2].get("/api/v1/device/assignments").json()["stop"][0]["reason"] == (
        "seat_limit_exceeded"
    )


FLEET = 2_000


@counts_rows_read
def test_a_device_beyond_the_seats_reads_the_seats_not_the_fleet(refunded_down_to_one_seat, agent):
    """The seat rule reads at most the seats in force of the deployments older than the
    device's own, however many the tenant has deployed: here 1 seat and a fleet of 2,000 older
    deployments of the agent (all four of the fixture's now beyond the seat)."""
    _, devices, apis = refunded_down_to_one_seat
    newest = Deployment.objects.get(device=devices[-1]["device"]["id"])
    fleet = Device.objects.bulk_create(
        Device(
            tenant_id=newest.tenant_id,
            name=f"gw-{n:05d}",
            hardware_id=f"fleet-hw-{n}",
            core="cortex-m4",
            token_prefix=f"fleet{n}",
            token_hash="0" * 64,
            token_created_at=newest.created_at,
        )
        for n in range(FLEET)
    )
    Deployment.objects.bulk_create(
        Deployment(tenant_id=newest.tenant_id, device=d, agent=agent, version=newest.version)
        for d in fleet
    )
    Deployment.objects.filter(device__in=fleet).update(
        created_at=newest.created_at - timedelta(days=30)
    )
    analyze("marketplace_deployment", "marketplace_device")

    poll, sqls = queries_of(lambda: apis[-1].get("/api/v1/device/assignments"))
    assert poll.json()["stop"][0]["reason"] == "seat_limit_exceeded"
    read = {"an assignments poll": rows_read_by(sqls, "marketplace_deployment")}
    outcome, sqls = queries_of(lambda: reported(apis[-1], agent))
    assert outcome == ("rejected", "not_entitled")
    read["a usage batch"] = rows_read_by(sqls, "marketplace_deployment")
    # its own deployment, the seat's holder, a lookup or two: before, 2,005 and 2,006 (every
    # older deployment of the fleet)
    assert max(read.values()) <= 4, read
