"""`edgeplug status --run` against a live server: each stage's state is the server's
(``stage_states``, as the portal's steps show it), not re-derived by the CLI."""

from __future__ import annotations

import pytest

from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    CertificationResultFactory,
    CertificationRunFactory,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _run(developer, **fields):
    tenant = developer.memberships.get().tenant
    version = AgentVersionFactory(agent=AgentFactory(tenant=tenant))
    return CertificationRunFactory(version=version, results=False, **fields)


def _rows(out: str) -> dict[str, list[str]]:
    """The stage table's rows by stage name."""
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("STAGE"))
    return {line.split()[0]: line.split()[1:] for line in lines[header + 1 :]}


def test_a_run_whose_validation_failed_shows_the_other_stages_skipped(signed_in, developer):
    run = _run(developer, status="failed", error_detail="failed: validation")
    CertificationResultFactory(run=run, test_suite="validation", test_result="fail")

    out = signed_in.ok("status", "--run", str(run.pk))

    assert _rows(out) == {
        "validation": ["fail", "120", "ms"],
        "invariants": ["skipped"],
        "performance": ["skipped"],
    }
    assert f"run {run.pk} (basic): failed 100%\nfailed: validation\n" in out


def test_a_failed_stage_shows_its_code_as_the_portal_and_the_admin_do(signed_in, developer):
    """Before: the row said only ``fail``; the stage's ``error_code`` was in the API's
    results but not in the table."""
    run = _run(developer, status="failed", error_detail="failed: validation")
    CertificationResultFactory(
        run=run, test_suite="validation", test_result="fail", error_code="model_invalid"
    )

    out = signed_in.ok("status", "--run", str(run.pk))

    assert _rows(out)["validation"] == ["fail", "(model_invalid)", "120", "ms"]


def test_the_signing_of_the_certificate_is_no_stage_row(signed_in, developer):
    run = _run(developer, status="error", error_detail="signing failed: no platform key")
    for stage in run.stages:
        CertificationResultFactory(run=run, test_suite=stage)
    CertificationResultFactory(run=run, test_suite="signing", test_result="error")

    out = signed_in.ok("status", "--run", str(run.pk))

    assert list(_rows(out)) == ["validation", "invariants", "performance"]
    assert "signing failed: no platform key" in out, "its failure is the run's verdict line"
