"""Migrating to one version per SemVer precedence (marketplace 0017): versions of one agent
that differ only in build metadata, taken before it, stop the migration, named, nothing
changed (which one stays is a person's decision); without them it applies."""

import pytest
from django.db import IntegrityError

from marketplace.models import AgentVersion
from tests.factories import AgentFactory, AgentVersionFactory
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = "0016_vendor_keys_order_ties_by_id"
ONE_PRECEDENCE = "0017_one_precedence_per_agent"


def test_versions_sharing_a_precedence_stop_the_migration_named():
    agent = AgentFactory(name="pump-anomaly")
    other = AgentFactory(tenant=agent.tenant, name="valve-monitor")
    twins = ["1.0.0", "1.0.0+build.7"]

    def keep_the_first():
        AgentVersion.objects.filter(version="1.0.0+build.7").delete()

    with migrated_back("marketplace", BEFORE, cleanup=keep_the_first) as migrator:
        for version in twins:
            AgentVersionFactory(agent=agent, version=version)
        AgentVersionFactory(agent=other, version="1.0.0+build.7")  # its own
        with pytest.raises(RuntimeError) as refused:
            migrator.forward(ONE_PRECEDENCE)
        message = str(refused.value)
        assert "2 versions share theirs" in message
        slug = agent.tenant.slug
        assert f"{slug}/pump-anomaly 1.0.0 (id" in message
        assert f"{slug}/pump-anomaly 1.0.0+build.7 (id" in message
        assert "valve-monitor" not in message
        assert (
            sorted(AgentVersion.objects.filter(agent=agent).values_list("version", flat=True))
            == twins
        )


def test_without_twins_the_migration_applies_and_refuses_one_after():
    agent = AgentFactory()
    with migrated_back("marketplace", BEFORE) as migrator:
        AgentVersionFactory(agent=agent, version="1.0.0")
        AgentVersionFactory(agent=agent, version="1.1.0+build.7")
        migrator.forward(ONE_PRECEDENCE)
    with pytest.raises(IntegrityError):
        AgentVersionFactory(agent=agent, version="1.0.0+build.8")
