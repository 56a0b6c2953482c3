"""Metering fixtures: a customer's device deployed with the vendor's certified agent, and a
helper to build and send usage events with the device token."""

import queue
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from billing import meter
from billing.models import UsageEvent, UsageHour, UsageKind
from marketplace.models import Entitlement
from tests.commerce.conftest import (  # noqa: F401 - fixtures shared with commerce
    agent,
    buy_free,
    certificate,
    customer,
    make_plan,
    published,
)


@dataclass
class Metered:
    client: APIClient  # the customer's admin
    device_api: APIClient  # authenticated with the device token
    device_id: int
    agent_id: int
    version: str
    now: datetime  # the frozen clock
    base: datetime  # a whole hour, a day before now

    def session(self, seq, start, minutes, **extra) -> dict:
        end = start + timedelta(minutes=minutes)
        return {
            "seq": seq,
            "kind": "session",
            "agent": self.agent_id,
            "version": self.version,
            "started_at": _iso(start),
            "ended_at": _iso(end),
            **extra,
        }

    def heartbeat(self, seq, at) -> dict:
        return {
            "seq": seq,
            "kind": "heartbeat",
            "agent": self.agent_id,
            "version": self.version,
            "at": _iso(at),
        }

    def send(self, events, api=None):
        return (api or self.device_api).post(
            "/api/v1/usage/events", {"events": events}, format="json"
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def register_and_deploy(client, version, hardware_id="hw-1") -> tuple[dict, APIClient]:
    created = client.post(
        "/api/v1/devices",
        {"name": hardware_id, "hardware_id": hardware_id, "core": "cortex-m4"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    device = created.json()
    deployed = client.post(
        f"/api/v1/devices/{device['device']['id']}/deployments",
        {"agent": version.agent_id, "version": version.version},
        format="json",
    )
    assert deployed.status_code == 201, deployed.json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {device['token']}")
    return device, api


@pytest.fixture
def metered(customer, published, agent, make_plan, certificate, time_machine) -> Metered:  # noqa: F811
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    client, membership = customer
    buy_free(client, agent, make_plan)
    # Valid since before the oldest usage metering still takes: an event dated before any
    # entitlement of its agent is not entitled.
    Entitlement.objects.filter(tenant=membership.tenant).update(
        valid_from=now - timedelta(days=settings.USAGE_LATE_DAYS + 1)
    )
    device, api = register_and_deploy(client, published)
    base = meter.hour_of(now) - timedelta(days=1)
    return Metered(client, api, device["device"]["id"], agent.pk, published.version, now, base)


def recomputed_rollup() -> dict:
    """(device, agent, hour) → seconds, recomputed from every stored raw session."""
    sessions: dict = {}
    for row in UsageEvent.objects.filter(kind=UsageKind.SESSION):
        sessions.setdefault((row.device_id, row.agent_id), []).append(
            (row.started_at, row.ended_at)
        )
    expected = {}
    for (device, agent_id), intervals in sessions.items():
        for hour, seconds in meter.seconds_per_hour(intervals).items():
            expected[(device, agent_id, hour)] = seconds
    return expected


def stored_rollup() -> dict:
    return {
        (row.device_id, row.agent_id, row.hour): row.seconds
        for row in UsageHour.objects.all()
        if row.seconds
    }


_END = object()


class OpenStream:
    """A ``Report`` call whose batches the test sends one at a time, as a device does."""

    def __init__(self, stub, auth):
        self._outbox: queue.Queue = queue.Queue()
        self.future = stub.Report.future(iter(self._outbox.get, _END), metadata=auth)

    def send(self, request) -> None:
        self._outbox.put(request)

    def close(self):
        self._outbox.put(_END)
        return self.future.result(timeout=30)
