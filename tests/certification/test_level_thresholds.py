"""A level's thresholds: the defaults in certification/pipeline/levels.py, and a row in the
admin that overrides only the fields it sets (an empty field keeps the level's default)."""

import pytest
from django.contrib import admin

from certification.models import THRESHOLD_BOUNDS, LevelThresholds
from certification.pipeline.levels import DEFAULTS, THRESHOLD_NAMES, thresholds_for
from certification.tasks import STAGE_SOFT_LIMIT_S
from edgeplug.audit.models import AuditEvent
from tests.concurrency import race
from tests.conftest import changeform_data, delete_one_then_in_bulk
from tests.migrations import migrated_back

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
    with migrated_back("certification", "0004_security_permissions") as migrator:
        old = migrator.old_model("LevelThresholds")
        old.objects.create(level="basic", model_wall_seconds=3)  # the rest at model defaults
        migrator.forward("0005_thresholds_override_defaults")
        basic = thresholds_for("basic")
        assert (basic.invariant_examples, basic.model_wall_seconds) == (100, 3)
        assert LevelThresholds.objects.get().invariant_examples is None


THRESHOLDS_URL = "/admin/certification/levelthresholds/"


def test_every_default_is_within_the_bounds_an_admin_may_set():
    """The bounds keep the product's rules: a stage's sandbox never gets more time than the
    stage itself (its soft time limit), and each level's defaults are settable values."""
    assert THRESHOLD_BOUNDS["model_cpu_seconds"][1] == STAGE_SOFT_LIMIT_S
    assert THRESHOLD_BOUNDS["model_wall_seconds"][1] == STAGE_SOFT_LIMIT_S
    assert set(THRESHOLD_BOUNDS) == set(THRESHOLD_NAMES)
    for defaults in DEFAULTS.values():
        for name, (low, high) in THRESHOLD_BOUNDS.items():
            value = getattr(defaults, name)
            assert value is None or low <= value <= high, (defaults.level, name)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latency_gate_us", "100000000", "500"),  # the product promises at most 500 µs
        ("latency_gate_us", "0", "at least 1"),
        ("invariant_examples", "0", "at least 1"),
        ("invariant_examples", "1000000", "at most"),
        ("model_cpu_seconds", "0", "at least 1"),
        ("model_wall_seconds", "100000", "at most"),
        ("model_memory_mb", "1", "at least"),
        ("certificate_validity_days", "0", "at least 1"),
        ("certificate_validity_days", "2147483647", "at most"),
    ],
)
def test_a_threshold_out_of_bounds_is_refused_in_the_admin(admin_session, field, value, message):
    client, _ = admin_session("platform-admins", is_superuser=True)
    data = changeform_data(client.get(f"{THRESHOLDS_URL}add/"))
    data.update({"level": "standard", field: value})

    refused = client.post(f"{THRESHOLDS_URL}add/", data)

    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert list(errors) == [field], errors
    assert message in " ".join(errors[field])
    assert not LevelThresholds.objects.exists()
    assert not AuditEvent.objects.filter(action="level_thresholds_changed").exists()


def test_a_latency_gate_for_the_basic_level_is_refused(admin_session):
    """The basic level never gates latency: a value there would only mislead."""
    client, _ = admin_session("platform-admins", is_superuser=True)
    data = changeform_data(client.get(f"{THRESHOLDS_URL}add/"))
    data.update({"level": "basic", "latency_gate_us": "300"})

    refused = client.post(f"{THRESHOLDS_URL}add/", data)

    assert refused.status_code == 200
    assert "never gates latency" in " ".join(
        refused.context["adminform"].form.errors["latency_gate_us"]
    )
    assert not LevelThresholds.objects.exists()


def test_an_out_of_bounds_change_leaves_the_row_as_it_was(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    row = LevelThresholds.objects.create(level="hardware", latency_gate_us=400)
    url = f"{THRESHOLDS_URL}{row.pk}/change/"
    data = changeform_data(client.get(url)) | {"latency_gate_us": "100000000"}

    assert client.post(url, data).status_code == 200
    row.refresh_from_db()
    assert row.latency_gate_us == 400
    assert thresholds_for("hardware").latency_gate_us == 400


def test_a_threshold_change_in_the_admin_is_audited_before_and_after(admin_session):
    client, admin = admin_session("platform-admins", is_superuser=True)
    row = LevelThresholds.objects.create(level="hardware", invariant_examples=300)
    url = f"{THRESHOLDS_URL}{row.pk}/change/"
    page = client.get(url)
    data = changeform_data(page) | {"latency_gate_us": "250", "level": "standard"}

    assert client.post(url, data).status_code == 302
    assert 'name="level"' not in page.content.decode()  # a row stays on its level

    row.refresh_from_db()
    assert (row.level, row.latency_gate_us, row.invariant_examples) == ("hardware", 250, 300)
    assert thresholds_for("hardware").latency_gate_us == 250
    event = AuditEvent.objects.get(action="level_thresholds_changed")
    assert (event.actor, event.target) == (admin, "hardware thresholds")
    unset = dict.fromkeys(
        [
            "latency_gate_us",
            "invariant_examples",
            "model_cpu_seconds",
            "model_wall_seconds",
            "model_memory_mb",
            "certificate_validity_days",
        ]
    )
    assert event.details == {
        "level": "hardware",
        "before": unset | {"invariant_examples": 300},
        "after": unset | {"invariant_examples": 300, "latency_gate_us": 250},
    }
    assert client.post(url, changeform_data(client.get(url))).status_code == 302
    assert AuditEvent.objects.filter(action="level_thresholds_changed").count() == 1  # unchanged


def test_deleting_a_levels_thresholds_in_the_admin_is_audited_as_its_reset(admin_session):
    client, admin = admin_session("platform-admins", is_superuser=True)
    standard = LevelThresholds.objects.create(level="standard", latency_gate_us=300)
    hardware = LevelThresholds.objects.create(level="hardware", certificate_validity_days=30)

    assert delete_one_then_in_bulk(client, THRESHOLDS_URL, standard.pk, hardware.pk) == (302, 302)
    assert not LevelThresholds.objects.exists()
    assert thresholds_for("standard").latency_gate_us == 500
    resets = AuditEvent.objects.filter(action="level_thresholds_changed").order_by("id")
    assert [(e.details["level"], e.details["reset"], e.actor_id) for e in resets] == [
        ("standard", True, admin.pk),
        ("hardware", True, admin.pk),
    ]
    assert resets[0].details["before"]["latency_gate_us"] == 300
    assert set(resets[0].details["after"].values()) == {None}


@pytest.mark.django_db(transaction=True)
def test_a_levels_thresholds_added_meanwhile_are_the_add_page_s_error_beside_the_level(
    admin_session, monkeypatch
):
    """Another Save of the same level's row committed between this form's checks and its save
    (a second click, two admins at once): the page is the form again with the level refused
    (it was a 500), the other row as it was saved and nothing of this one audited."""
    client, _ = admin_session("platform-admins", is_superuser=True)
    model_admin = admin.site._registry[LevelThresholds]
    saving = model_admin.save_action

    def added_elsewhere_then_saved(row, **kwargs):
        race(
            lambda level: LevelThresholds.objects.create(level=level, invariant_examples=7),
            [row.level],
        )
        return saving(row, **kwargs)

    monkeypatch.setattr(model_admin, "save_action", added_elsewhere_then_saved)
    data = changeform_data(client.get(f"{THRESHOLDS_URL}add/"))
    data.update({"level": "standard", "certificate_validity_days": "30"})

    refused = client.post(f"{THRESHOLDS_URL}add/", data)

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["level"]
    assert LevelThresholds.objects.get().invariant_examples == 7
    assert not AuditEvent.objects.filter(action="level_thresholds_changed").exists()
