"""End to end with a real Celery worker: upload, certify, verify, review, publish; and a
worker killed mid-stage still ends with exactly one result per stage."""

import base64
import os
import signal
import time

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import Client

from certification.models import CertificationResult, LevelThresholds, StageAttempt
from certification.tflm import sample_models
from tests.certification.conftest import model_package

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def _wait_finished(client, run_id, timeout=240):
    deadline = time.monotonic() + timeout
    seen_progress = set()
    while time.monotonic() < deadline:
        response = client.get(f"/api/v1/certification/{run_id}")
        assert response.status_code == 200, (response.status_code, response.content[:300])
        run = response.json()
        seen_progress.add(run["progress"])
        if run["status"] in ("passed", "failed", "error"):
            return run, seen_progress
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish: {run}")


def _verify_with_cryptography(document: dict, keyset: dict) -> None:
    key = next(k for k in keyset["keys"] if k["key_id"] == document["key_id"])
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    public.verify(base64.b64decode(document["signature"]), rfc8785.dumps(document["certificate"]))


def test_upload_certify_verify_review_and_publish(
    live_worker, vendor, member_client, admin_session
):
    data = model_package()
    upload = vendor.upload(data, certify="true", level="basic").json()
    run_id = upload["certification_run"]
    assert run_id
    run, _ = _wait_finished(vendor.client, run_id)
    assert run["status"] == "passed", run
    assert {r["test_suite"]: r["test_result"] for r in run["results"]} == {
        "validation": "pass",
        "invariants": "pass",
        "performance": "pass",
        "signing": "pass",
    }

    agent_id, version = upload["agent"]["id"], upload["version"]["version"]
    document = vendor.client.get(f"/api/v1/agents/{agent_id}/versions/{version}/certificate").json()
    keyset = Client().get("/.well-known/edgeplug/keys.json").json()
    _verify_with_cryptography(document, keyset)
    assert document["certificate"]["package"]["digest"] == f"sha256:{upload['version']['digest']}"

    customer, _ = member_client("admin")
    assert customer.get(f"/api/v1/agents/{agent_id}").status_code == 404
    queue = vendor.client.get("/api/v1/certification/queue").json()
    assert [r["id"] for r in queue["results"]] == [run_id]

    admin = admin_session("reviewers")[0]
    page = admin.get(f"/admin/certification/certificationrun/{run_id}/change/")
    assert b"Approve" in page.content and b"invariants" in page.content
    no_reason = admin.post(
        f"/admin/certification/certificationrun/{run_id}/decide/",
        {"decision": "approve", "reason": ""},
        follow=True,
    )
    assert b"needs a reason" in no_reason.content
    admin.post(
        f"/admin/certification/certificationrun/{run_id}/decide/",
        {"decision": "approve", "reason": "All stages pass; counterexamples none."},
    )
    listed = customer.get("/api/v1/agents").json()["results"]
    assert [a["id"] for a in listed] == [agent_id]
    assert listed[0]["latest_version"]["review_status"] == "approved"


def test_worker_killed_mid_stage_still_records_each_stage_once(live_worker, vendor):
    # Enough examples that the invariants stage is still running when we kill its process.
    LevelThresholds.objects.create(level="basic", invariant_examples=1500)
    upload = vendor.upload(model_package(), certify="true", level="basic").json()
    run_id = upload["certification_run"]
    deadline = time.monotonic() + 120
    attempt = None
    while attempt is None and time.monotonic() < deadline:
        attempt = StageAttempt.objects.filter(run_id=run_id, stage="invariants").first()
        time.sleep(0.2)
    assert attempt is not None, "the invariants stage never started"
    time.sleep(1.0)
    os.kill(attempt.worker_pid, signal.SIGKILL)

    run, _ = _wait_finished(vendor.client, run_id, timeout=600)
    assert run["status"] == "passed", run
    assert StageAttempt.objects.filter(run_id=run_id, stage="invariants").count() >= 2
    per_stage = CertificationResult.objects.filter(run_id=run_id).values_list(
        "test_suite", flat=True
    )
    assert sorted(per_stage) == sorted(set(per_stage))
    assert set(per_stage) == {"validation", "invariants", "performance", "signing"}


def test_hanging_model_fails_on_its_limit_and_the_worker_carries_on(live_worker, vendor):
    LevelThresholds.objects.create(level="basic", model_wall_seconds=3)
    hang = vendor.upload(
        model_package(sample_models.endless_loop(), name="hang", invariants=[{"kind": "finite"}]),
        certify="true",
    ).json()
    run, _ = _wait_finished(vendor.client, hang["certification_run"], timeout=180)
    assert run["status"] == "failed", run
    failed = [r for r in run["results"] if r["test_result"] == "fail"]
    assert failed and {r["error_code"] for r in failed} == {"model_timeout"}, failed
    hang_pids = set(
        StageAttempt.objects.filter(run_id=hang["certification_run"]).values_list(
            "worker_pid", flat=True
        )
    )

    # The worker processes that ran the hanging model survived it and certify the next one.
    good = vendor.upload(model_package(), certify="true").json()
    run, _ = _wait_finished(vendor.client, good["certification_run"])
    assert run["status"] == "passed", run
    assert hang_pids and all(_alive(pid) for pid in hang_pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
