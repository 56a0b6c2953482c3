"""One agent, read through every route that names it: ``agent`` is historical and has two
shapes (the id in plans, orders, entitlements, deployments and usage rows; the name in
certification runs, payout statements and device assignments), so clients read
``agent_id`` (always the id, an integer) and ``agent_name`` (always the name, a string),
which mean the same everywhere they appear. Orders and deployments named the agent by id
only: a client listing them had to look each one up to show its name."""

from datetime import timedelta

import pytest

from tests.factories import CertificationRunFactory

pytestmark = pytest.mark.django_db


def _agent_keys(body, found=None) -> list[dict]:
    """Every object in ``body`` naming an agent by any of the three keys: its keys of them."""
    found = [] if found is None else found
    if isinstance(body, dict):
        named = {k: body[k] for k in ("agent", "agent_id", "agent_name") if k in body}
        if named and not isinstance(body.get("agent"), dict):
            found.append(named)
        for value in body.values():
            _agent_keys(value, found)
    elif isinstance(body, list):
        for value in body:
            _agent_keys(value, found)
    return found


@pytest.fixture
def bodies(metered, vendor, agent) -> dict[str, object]:
    assert metered.send([metered.session(1, metered.base, 10)]).status_code == 200
    run = CertificationRunFactory(version=agent.versions.first())
    day = metered.base.date()
    client = metered.client
    return {
        "plans": vendor.client.get(f"/api/v1/vendor/agents/{agent.pk}/plans").json(),
        "orders": client.get("/api/v1/orders").json(),
        "entitlements": client.get("/api/v1/entitlements").json(),
        "deployments": client.get(f"/api/v1/devices/{metered.device_id}/deployments").json(),
        "usage": client.get(
            f"/api/v1/usage?from={day}&to={day + timedelta(days=2)}&group_by=agent"
        ).json(),
        "run": vendor.client.get(f"/api/v1/certification/{run.pk}").json(),
        "assignments": metered.device_api.get("/api/v1/device/assignments").json(),
    }


def test_agent_id_and_agent_name_mean_the_same_everywhere(bodies, agent):
    for route, body in bodies.items():
        named = _agent_keys(body)
        assert named, f"{route} names no agent: {body}"
        for keys in named:
            assert keys.get("agent_id", agent.pk) == agent.pk, (route, keys)
            assert keys.get("agent_name", agent.name) == agent.name, (route, keys)
            assert type(keys.get("agent_id", 0)) is int and type(keys.get("agent_name", "")) is str


@pytest.mark.parametrize(
    ("route", "shape"),
    [
        ("plans", int),
        ("orders", int),
        ("entitlements", int),
        ("deployments", int),
        ("usage", int),
        ("run", str),
        ("assignments", str),
    ],
)
def test_agent_keeps_its_historical_shape_per_route(bodies, agent, route, shape):
    """Changing it would break the clients that read it: docs/commerce.md lists each."""
    for keys in _agent_keys(bodies[route]):
        assert keys["agent"] == (agent.pk if shape is int else agent.name), (route, keys)


def _rows(body) -> list[dict]:
    """A list's rows (a page's ``results``, a report's ``rows``)."""
    rows = body.get("results", body.get("rows")) if isinstance(body, dict) else body
    assert rows, body
    return rows


@pytest.mark.parametrize("route", ["orders", "deployments", "entitlements", "usage"])
def test_a_list_naming_the_agent_by_id_gives_its_name_too(bodies, agent, route):
    for row in _rows(bodies[route]):
        assert (row["agent"], row["agent_name"]) == (agent.pk, agent.name), (route, row)


@pytest.mark.parametrize("route", ["run", "assignments"])
def test_a_body_naming_the_agent_by_name_gives_its_id_too(bodies, agent, route):
    for keys in _agent_keys(bodies[route]):
        assert keys["agent_id"] == agent.pk, (route, keys)
