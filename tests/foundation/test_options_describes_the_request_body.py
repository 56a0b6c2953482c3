"""OPTIONS on an operation that takes a body describes that body: the request serializer the
operation publishes in the schema, not the one it answers with."""

import pytest

from tests.factories import AgentVersionFactory, DeviceFactory

pytestmark = pytest.mark.django_db

# (who asks, the route; {agent} and {device} filled in)
ROUTES = [
    ("customer", "/api/v1/orders"),
    ("customer", "/api/v1/tenant/members"),
    ("customer", "/api/v1/devices"),
    ("customer", "/api/v1/devices/{device}/deployments"),
    ("customer", "/api/v1/billing/payment-methods"),
    ("customer", "/api/v1/agents/{agent}/reviews"),
    ("vendor", "/api/v1/vendor/keys"),
    ("vendor", "/api/v1/vendor/agents/{agent}/plans"),
]


def _published_body(schema, route: str) -> tuple[set[str], set[str]]:
    """The fields of the JSON body the schema gives ``POST route``, and those it requires."""
    templated = route.replace("{agent}", "{agent_id}").replace("{device}", "{pk}")
    (path,) = (p for p in schema["paths"] if p.replace("{id}", "{pk}") == templated)
    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return set(component["properties"]), set(component.get("required", []))


@pytest.mark.parametrize(("who", "route"), ROUTES)
def test_options_describes_the_body_a_post_takes(schema, member_client, who, route):
    """OPTIONS /api/v1/orders listed the order it answers (every field read-only, none
    required), though a POST needs agent and plan."""
    version = AgentVersionFactory(public=True)
    callers = {
        "customer": member_client("admin"),
        "vendor": member_client("admin", tenant=version.tenant),
    }
    client, membership = callers[who]
    device = DeviceFactory(tenant=membership.tenant)
    url = route.format(agent=version.agent_id, device=device.pk)
    described = client.options(url).json()["actions"]["POST"]
    fields, required = _published_body(schema, route)
    assert {name for name, field in described.items() if not field["read_only"]} == fields
    assert {name for name, field in described.items() if field["required"]} == required
