"""`edgeplug status AGENT --version V` for a customer answers for every version that
`edgeplug status AGENT` lists, a version yanked after its release included (marked yanked),
its reason printed on its one line, whatever characters it was stored with."""

from __future__ import annotations

import re

import pytest

from marketplace.catalogue_cache import invalidate_catalogue
from marketplace.models import AgentVersion
from marketplace.services import yank_version
from tests.cli.conftest import member
from tests.factories import AgentFactory, AgentVersionFactory, TenantFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_customer_sees_the_yanked_version_that_the_agent_lists(cli, live_server):
    vendor = TenantFactory(slug="acme-robotics", is_vendor=True, is_customer=False)
    agent = AgentFactory(tenant=vendor, name="pump-anomaly")
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    yank_version(AgentVersionFactory(agent=agent, version="1.1.0", public=True), "bad model")
    AgentVersionFactory(agent=agent, version="2.0.0")  # never released
    customer = member(TenantFactory(slug="plant-ops"), role="admin")
    cli.ok("login", "--server", live_server.url, "--email", customer.email)

    listed = cli.ok("status", str(agent.pk))
    assert "1.1.0" in listed and "2.0.0" not in listed

    detail = cli.ok("status", str(agent.pk), "--version", "1.1.0")
    assert re.search(r"^version:\s+1\.1\.0$", detail, re.M), detail
    assert re.search(r"^yanked:\s+bad model$", detail, re.M), detail
    cli.refused("status", str(agent.pk), "--version", "2.0.0", code="not_found")

    # A reason stored before reasons refused control characters (invalid_reason, 2026-12-06)
    # shows them escaped: it cannot act on the terminal, nor pose as the lines the platform
    # vouches for.
    AgentVersion.objects.filter(agent=agent, version="1.1.0").update(
        yank_reason="bad\x1b[1A\rcertification: certified\nreview: approved\u202e"
    )
    invalidate_catalogue()
    detail = cli.ok("status", str(agent.pk), "--version", "1.1.0")
    shown = r"bad\x1b[1A\rcertification: certified\nreview: approved\u202e"
    assert re.search(rf"^yanked:\s+{re.escape(shown)}$", detail, re.M), detail
    assert "\x1b" not in detail and "\u202e" not in detail
