"""A stage's findings are bounded like its logs: the most severe kept, the rest counted."""

import json

import pytest
from django.test import Client

from certification.pipeline.findings import MAX_STORED_FINDINGS, bound_findings
from certification.tflm import sample_models
from marketplace.packageformat.pack import build_archive
from tests.packageformat.builders import default_files, make_manifest
from tests.portal.conftest import portal_sign_in

pytestmark = pytest.mark.django_db

COMPONENTS = MAX_STORED_FINDINGS + 500


def _package_with_a_licence_per_component(components: int) -> bytes:
    sample = sample_models.sensor_classifier()
    manifest = make_manifest(
        name="sbom-flood", model=sample.manifest_model(), invariants=list(sample.invariants)
    )
    files = default_files(manifest, model_bytes=sample.tflite)
    files["sbom.cdx.json"] = json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "components": [
                {
                    "type": "library",
                    "name": f"component-{i:05d}",
                    "version": "1.0.0",
                    "purl": f"pkg:generic/acme/component-{i:05d}@1.0.0",
                    "licenses": [{"license": {"name": "Acme internal"}}],
                }
                for i in range(components)
            ],
        }
    ).encode()
    return build_archive(files)


def test_an_sboms_findings_are_bounded_like_the_stage_logs(certify, vendor, admin_session):
    run = certify(_package_with_a_licence_per_component(COMPONENTS), level="standard")
    security = run.results.get(test_suite="security")

    assert len(security.findings) == MAX_STORED_FINDINGS
    assert security.metrics["license_findings"] == COMPONENTS
    summary = security.findings_summary
    assert summary["total"] > COMPONENTS - 1
    assert sum(summary["left_out"].values()) == summary["total"] - MAX_STORED_FINDINGS

    api = vendor.client.get(f"/api/v1/certification/{run.pk}").json()
    stage = next(r for r in api["results"] if r["test_suite"] == "security")
    assert len(stage["findings"]) == MAX_STORED_FINDINGS
    assert stage["findings_summary"] == summary

    shown = f"Findings ({summary['total']}, the {MAX_STORED_FINDINGS} most severe shown)"
    left_out = f"{summary['total'] - MAX_STORED_FINDINGS:,} more not stored"
    admin = admin_session("reviewers")[0]
    page = admin.get(f"/admin/certification/certificationrun/{run.pk}/change/").content.decode()
    assert shown in page and left_out in page

    portal = Client()
    portal_sign_in(portal, vendor.membership.user)
    version = run.version
    page = portal.get(f"/portal/agents/{version.agent_id}/versions/{version.version}/")
    text = page.content.decode()
    assert f"Findings ({summary['total']})" in text and left_out in text


def test_blocking_and_most_severe_findings_are_the_ones_kept():
    findings = [{"kind": "license", "blocking": False}] * 5 + [
        {"kind": "vulnerability", "severity": "low", "blocking": False},
        {"kind": "vulnerability", "severity": "critical", "blocking": False},
        {"kind": "vulnerability", "severity": "medium", "blocking": True},
    ]

    bounded = bound_findings(findings, limit=3)

    assert [f.get("severity") for f in bounded.kept] == ["medium", "critical", "low"]
    assert bounded.summary == {"total": 8, "left_out": {"unrated": 5}}


def test_findings_within_the_bound_are_all_kept_in_stage_order():
    findings = [{"kind": "budget", "name": str(i)} for i in range(3)]

    assert bound_findings(findings, limit=3).kept == findings
