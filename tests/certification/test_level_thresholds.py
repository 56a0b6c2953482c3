"""A level's thresholds: the defaults in certification/pipeline/levels.py, and a row in the
admin that overrides only the fields it sets (an empty field keeps the level's default)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from certification.models import LevelThresholds
from certification.pipeline.levels import DEFAULTS, thresholds_for
from tests.conftest import changeform_data

pytestmark = pytest.mark.django_db


def test_a_row_overrides_only_what_it_sets():
    LevelThresholds.objects.create(level="basic", model_wall_seconds=3)
    basic = thresholds_for("basic")
    assert basic.model_wall_seconds == 3
    # The basic level's own default (100), not another level's (200).
    assert basic.invariant_examples == DEFAULTS["basic"].invariant_examples == 100
    assert basic.latency_gate_us is None  # basic never gates latency, whatever the row says


def test_a_platform_admin_overrides_one_threshold_in_the_admin(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    url = "/admin/certification/levelthresholds/add/"
    data = changeform_data(client.get(url))
    data.update({"level": "standard", "certificate_validity_days": "30"})
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    standard = thresholds_for("standard")
    assert standard.certificate_validity_days == 30
    assert standard.invariant_examples == DEFAULTS["standard"].invariant_examples
    assert standard.latency_gate_us == 500
    listing = client.get("/admin/certification/levelthresholds/").content.decode()
    assert "(default)" in listing


def test_the_migration_clears_values_left_at_the_old_model_defaults_and_keeps_the_rest():
    """Rows made before thresholds were overrides held every field, the unset ones at the old
    model defaults (200 examples for basic, whose default is 100); those become the level's
    default, and what an admin set stays."""
    before = [("certification", "0004_security_permissions")]
    after = [("certification", "0005_thresholds_override_defaults")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model(
            "certification", "LevelThresholds"
        )
        old.objects.create(level="basic", model_wall_seconds=3)  # the rest at model defaults
        executor.loader.build_graph()
        executor.migrate(after)
        basic = thresholds_for("basic")
        assert (basic.invariant_examples, basic.model_wall_seconds) == (100, 3)
        assert LevelThresholds.objects.get().invariant_examples is None
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes("certification"))
