"""During a rolling deploy (deploy/k8s: the migrate Job runs, then new pods replace the old ones
while the previous release's web pods and workers keep serving and working), the previous
release's code writes to the new schema, and its inserts do not name the columns the new
release added. So each column a migration adds to an existing table is nullable or has a
database default (docs/operations.md, "Upgrades (rolling deploys)"). Checked on the migration
files themselves, no database needed, so that the next column cannot repeat certification
0013."""

import pytest
from django.apps import apps
from django.db.migrations import AddField, CreateModel
from django.db.migrations.loader import MigrationLoader
from django.db.models import NOT_PROVIDED

from tests.factories import CertificationRunFactory
from tests.migrations import Migrator

PROJECT_PACKAGES = ("edgeplug", "marketplace", "certification", "billing")

# Columns added NOT NULL without a database default before the rule was written down. Their
# rollouts are over: a default given now would help no release that is still running.
BEFORE_THE_RULE = {
    ("billing", "0005_invoice_prepaid_amount", "invoice", "prepaid_amount"),
    ("billing", "0006_invoice_collection", "invoice", "payment_failure_code"),
    ("billing", "0006_invoice_collection", "invoice", "payment_failure_detail"),
    ("marketplace", "0007_version_precedence", "agentversion", "precedence"),
    # The one whose rollout failed the previous release's workers' results; 0014 gave it its
    # database default ({}).
    ("certification", "0013_result_findings_summary", "certificationresult", "findings_summary"),
}


def _project_app_labels() -> set[str]:
    return {
        app.label
        for app in apps.get_app_configs()
        if app.name.partition(".")[0] in PROJECT_PACKAGES
    }


def _columns_the_previous_release_cannot_insert() -> set[tuple[str, str, str, str]]:
    """Each (app, migration, model, field) an AddField adds to a table that existed before its
    migration, NOT NULL and without a database default."""
    labels = _project_app_labels()
    found = set()
    for (app, name), migration in MigrationLoader(None).disk_migrations.items():
        if app not in labels:
            continue
        created_here = set()
        for operation in migration.operations:
            if isinstance(operation, CreateModel):
                created_here.add(operation.name_lower)
            elif isinstance(operation, AddField) and operation.model_name_lower not in created_here:
                field = operation.field
                if field.many_to_many or field.null or field.db_default is not NOT_PROVIDED:
                    continue
                found.add((app, name, operation.model_name_lower, operation.name))
    return found


def test_every_column_a_migration_adds_takes_the_previous_releases_inserts():
    found = _columns_the_previous_release_cannot_insert()
    assert found - BEFORE_THE_RULE == set(), (
        "nullable, or a database default (db_default), please: the previous release's inserts "
        "do not name these columns and fail while the new release rolls out"
    )
    # An exception no migration needs any more goes from the list.
    assert BEFORE_THE_RULE - found == set()


@pytest.mark.django_db
def test_a_previous_release_worker_records_its_stage_after_the_findings_summary_came():
    """A worker of the release before certification 0013 finishes a stage while the new release
    rolls out: it records the result as certification/pipeline/orchestration.py did then (no
    findings_summary), and the run goes on instead of ending in error."""
    run = CertificationRunFactory(running=True)
    # The model as the previous release's code declared it (the schema is not migrated).
    OldResult = Migrator("certification", "0012_rescan_nobody_to_mail").old_model(
        "CertificationResult"
    )

    OldResult.objects.create(
        run_id=run.pk,
        test_suite="validation",
        test_result="pass",
        test_duration_ms=12,
        test_logs="ok",
        metrics={},
        findings=[],
        error_code="",
    )

    assert run.results.get(test_suite="validation").findings_summary == {}
