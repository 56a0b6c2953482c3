"""Commerce fixtures: a vendor with a published agent, plans, and customers."""

import pytest

from marketplace import plans
from marketplace.models import AgentVersion
from tests.vendors import package


def publish(version: AgentVersion) -> AgentVersion:
    AgentVersion.objects.filter(pk=version.pk).update(
        certification_status="certified", review_status="approved"
    )
    version.refresh_from_db()
    return version


@pytest.fixture
def published(vendor):
    """The vendor's agent with one certified, approved version 1.0.0."""
    body = vendor.upload(package("1.0.0")).json()
    version = publish(AgentVersion.objects.get(pk=body["version"]["id"]))
    return version


@pytest.fixture
def agent(published):
    return published.agent


@pytest.fixture
def make_plan(agent):
    def make(kind="free", key=None, target=None, **price):
        target = target or agent
        return plans.create_plan(
            target, key=key or f"{kind}-plan", name=f"{kind} plan", kind=kind, **price
        )

    return make


@pytest.fixture
def customer(member_client):
    """A customer tenant's admin: (client, membership)."""
    return member_client("admin")
