"""A run is written whole and read whole: what a worker commits of a stage (its attempt with
the run's ``current_stage``; its result with the run's progress) is one commit, and the watch
stream (gRPC WatchRun) and GET /api/v1/certification/{id} read the run, then its results and
attempts (a prefetch), from one snapshot (``one_snapshot``). Each read was its own READ
COMMITTED snapshot, and a commit landing between them was shown half: the stage passed at the
progress from before it (a fresh-clone CI run failed on it in test_grpc_watch_run)."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.db.models import query as query_module
from django.db.models.signals import post_save

from certification.models import CertificationResult, CertificationRun, StageAttempt
from certification.pipeline.orchestration import execute_stage, record_result
from certification.pipeline.stages.base import InfrastructureError, StageOutcome
from certification.pipeline.state import mark_running
from edgeplug.certification.v1 import certification_pb2 as pb
from edgeplug.certification.v1 import certification_pb2_grpc
from tests.factories import CertificationRunFactory, VendorTenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def queued_run(tenant) -> CertificationRun:
    return CertificationRunFactory(version__agent__tenant=tenant, queued=True)


def _worker_commits_first_stage(run_id):
    """What a Celery worker does (in its own connection): record the stage's result."""

    def work():
        try:
            run = CertificationRun.objects.get(pk=run_id)
            record_result(run, run.stages[0], StageOutcome("pass", logs="ok"), 10)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(30)


@pytest.fixture
def worker_between_reads(monkeypatch):
    """Arms a concurrent worker's commit to land after the reader's SELECT of the run and
    before its SELECT of the run's results (the prefetch)."""
    if connection.vendor != "postgresql":
        pytest.skip("one snapshot is PostgreSQL's: SQLite's reads are left as they are")
    original = query_module.prefetch_related_objects
    armed = {"run_id": None}

    def between(instances, *lookups):
        run_id = armed["run_id"]
        if run_id and any(isinstance(i, CertificationRun) and i.pk == run_id for i in instances):
            armed["run_id"] = None
            _worker_commits_first_stage(run_id)
        return original(instances, *lookups)

    monkeypatch.setattr(query_module, "prefetch_related_objects", between)
    return armed


def test_watch_stream_never_sends_a_passed_stage_at_progress_0(
    settings, grpc_channel, member_client, worker_between_reads
):
    settings.GRPC_WATCH_POLL_S = 0.05
    client, membership = member_client("developer", tenant=VendorTenantFactory())
    auth = (("authorization", client._credentials["HTTP_AUTHORIZATION"]),)
    run = queued_run(membership.tenant)
    stub = certification_pb2_grpc.CertificationServiceStub(grpc_channel)
    stream = stub.WatchRun(pb.WatchRunRequest(run_id=run.pk), metadata=auth, timeout=60)
    assert next(stream).status == "queued"
    mark_running(run.pk)
    assert next(stream).status == "running"
    worker_between_reads["run_id"] = run.pk
    message = next(stream)
    stream.cancel()
    first = message.stages[0]
    # Either the poll read before the result (no pass yet) or after it (its progress with it).
    assert first.state != "pass" or message.progress > 0, (
        f"stage {first.stage} sent passed at progress {message.progress}"
    )


def test_rest_run_never_shows_a_passed_stage_at_progress_0(member_client, worker_between_reads):
    client, membership = member_client("developer", tenant=VendorTenantFactory())
    run = queued_run(membership.tenant)
    mark_running(run.pk)
    worker_between_reads["run_id"] = run.pk
    body = client.get(f"/api/v1/certification/{run.pk}").json()
    passed = [r["test_suite"] for r in body["results"] if r["test_result"] == "pass"]
    assert not passed or body["progress"] > 0, f"{passed} passed at progress {body['progress']}"


def test_a_stage_result_is_committed_with_the_runs_progress(member_client):
    """What a watcher reads the moment a stage's result is committed already has the progress
    that result makes (they were two commits)."""
    _, membership = member_client("developer", tenant=VendorTenantFactory())
    run = queued_run(membership.tenant)
    mark_running(run.pk)
    seen = []

    def on_save(instance, created, **kwargs):
        transaction.on_commit(
            lambda: seen.append(CertificationRun.objects.get(pk=instance.run_id).progress)
        )

    post_save.connect(on_save, sender=CertificationResult, weak=False)
    try:
        record_result(run, run.stages[0], StageOutcome("pass", logs="ok"), 10)
    finally:
        post_save.disconnect(on_save, sender=CertificationResult)
    assert seen and seen[0] > 0


def test_a_started_stage_is_committed_with_the_runs_current_stage(member_client):
    """A worker starting a stage (``execute_stage``) commits its attempt and the run's
    ``current_stage`` at once: a reader between two commits saw the stage running while
    ``current_stage`` named none."""
    client, membership = member_client("developer", tenant=VendorTenantFactory())
    run = queued_run(membership.tenant)
    mark_running(run.pk)
    first = run.stages[0]
    seen = []

    def on_save(instance, created, **kwargs):
        transaction.on_commit(
            lambda: seen.append(client.get(f"/api/v1/certification/{run.pk}").json())
        )

    post_save.connect(on_save, sender=StageAttempt, weak=False)
    try:
        # The factory's version has no stored package: the stage stops on reading it, once
        # its start is committed.
        with pytest.raises(InfrastructureError):
            execute_stage(run.pk, first, worker="w1")
    finally:
        post_save.disconnect(on_save, sender=StageAttempt)
    body = seen[0]
    states = {s["stage"]: s["state"] for s in body["stage_states"]}
    assert (states[first], body["current_stage"]) == ("running", first)
