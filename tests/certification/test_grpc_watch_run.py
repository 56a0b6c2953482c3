"""A vendor watches a certification run over gRPC (a real server on loopback, a real client):
one message now and one per change of its stages, ending when the run finishes; only those
REST shows the run to (its vendor, reviewers) may watch, and watches are capped so they never
starve the usage reports."""

import grpc
import pytest
from django.db import transaction
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from certification import grpc_watch
from certification.models import CertificationRun, StageAttempt
from certification.pipeline.orchestration import record_result
from certification.pipeline.stages.base import StageOutcome
from certification.pipeline.state import end_with_error, mark_running
from edgeplug.audit.models import AuditEvent
from edgeplug.certification.v1 import certification_pb2 as pb
from edgeplug.certification.v1 import certification_pb2_grpc
from edgeplug.errors import Forbidden
from edgeplug.tenancy.models import Membership
from tests.factories import CertificationRunFactory, VendorTenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def watch_settings(settings):
    settings.GRPC_WATCH_POLL_S = 0.05
    settings.GRPC_MAX_WATCHES = 1


@pytest.fixture
def stub(watch_settings, grpc_channel):
    return certification_pb2_grpc.CertificationServiceStub(grpc_channel)


@pytest.fixture
def vendor(member_client):
    client, membership = member_client("developer", tenant=VendorTenantFactory())
    return membership.tenant, (("authorization", client._credentials["HTTP_AUTHORIZATION"]),)


def queued_run(tenant) -> CertificationRun:
    return CertificationRunFactory(version__agent__tenant=tenant, queued=True)


def states(message) -> list[tuple[str, str]]:
    return [(stage.stage, stage.state) for stage in message.stages]


def test_the_stream_follows_each_stage_and_ends_with_the_run(stub, vendor):
    tenant, auth = vendor
    run = queued_run(tenant)
    first_stage, *others = run.stages
    stream = stub.WatchRun(pb.WatchRunRequest(run_id=run.pk), metadata=auth, timeout=60)

    queued = next(stream)
    assert (queued.run_id, queued.status, queued.finished) == (run.pk, "queued", False)
    assert queued.version == run.version.version
    assert states(queued) == [(stage, "pending") for stage in run.stages]

    mark_running(run.pk)
    assert next(stream).status == "running"

    # What a worker starting the stage commits (``execute_stage``): its attempt and the name.
    with transaction.atomic():
        StageAttempt.objects.create(run=run, stage=first_stage)
        CertificationRun.objects.filter(pk=run.pk).update(current_stage=first_stage)
    running = next(stream)
    assert (running.current_stage, states(running)[0]) == (first_stage, (first_stage, "running"))

    record_result(run, first_stage, StageOutcome("pass", logs="ok"), 1234)
    passed = next(stream)
    assert passed.stages[0].state == "pass"
    assert passed.stages[0].duration_ms == 1234
    assert passed.progress > 0

    with transaction.atomic():
        end_with_error(
            CertificationRun.objects.select_for_update().get(pk=run.pk), "worker_lost", "gone"
        )
    final = next(stream)
    assert (final.status, final.error_code, final.finished) == ("error", "worker_lost", True)
    assert states(final)[1:] == [(stage, "skipped") for stage in others]
    assert final.HasField("finished_at")
    assert list(stream) == []  # the server closed the stream


def test_a_finished_run_is_one_message(stub, vendor):
    tenant, auth = vendor
    run = CertificationRunFactory(version__agent__tenant=tenant, results=True)
    [only] = list(stub.WatchRun(pb.WatchRunRequest(run_id=run.pk), metadata=auth, timeout=30))
    assert (only.status, only.progress, only.finished) == ("passed", 100, True)
    assert {stage.state for stage in only.stages} == {"pass"}


def code_of(call) -> tuple:
    with pytest.raises(grpc.RpcError) as failed:
        next(call)
    return failed.value.code(), dict(failed.value.trailing_metadata() or ()).get("edgeplug-code")


@pytest.mark.parametrize("valid_first", [True, False], ids=["valid-first", "valid-last"])
def test_two_authorization_entries_are_no_credentials(stub, vendor, valid_first):
    """Which of two tokens a call carries is not guessed (the last one was taken), as at the
    usage service."""
    tenant, auth = vendor
    run = CertificationRunFactory(version__agent__tenant=tenant, results=True)
    other = ("authorization", "Bearer not.a.token")
    metadata = (*auth, other) if valid_first else (other, *auth)
    call = stub.WatchRun(pb.WatchRunRequest(run_id=run.pk), metadata=metadata, timeout=30)
    assert code_of(call) == (grpc.StatusCode.UNAUTHENTICATED, "not_authenticated")


def test_only_the_runs_vendor_may_watch_it(stub, vendor, member_client):
    tenant, auth = vendor
    run = queued_run(tenant)
    request = pb.WatchRunRequest(run_id=run.pk)
    assert code_of(stub.WatchRun(request, timeout=30)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "not_authenticated",
    )
    forged = (("authorization", "Bearer not.a.token"),)
    assert code_of(stub.WatchRun(request, metadata=forged, timeout=30))[0] == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    # A customer is told what REST tells them of the run (404), not that they may not ask.
    customer, _ = member_client("admin")
    customer_auth = (("authorization", customer._credentials["HTTP_AUTHORIZATION"]),)
    assert customer.get(f"/api/v1/certification/{run.pk}").status_code == 404
    assert code_of(stub.WatchRun(request, metadata=customer_auth, timeout=30)) == (
        grpc.StatusCode.NOT_FOUND,
        "not_found",
    )
    other_vendor, _ = member_client("admin", tenant=VendorTenantFactory())
    other_auth = (("authorization", other_vendor._credentials["HTTP_AUTHORIZATION"]),)
    assert code_of(stub.WatchRun(request, metadata=other_auth, timeout=30)) == (
        grpc.StatusCode.NOT_FOUND,
        "not_found",
    )
    missing = pb.WatchRunRequest(run_id=run.pk + 1000)
    assert code_of(stub.WatchRun(missing, metadata=auth, timeout=30))[0] == (
        grpc.StatusCode.NOT_FOUND
    )


def test_a_reviewer_watches_any_vendors_run_as_rest_shows_it(stub, vendor, staff_client):
    tenant, _ = vendor
    run = CertificationRunFactory(version__agent__tenant=tenant, results=True)
    reviewer = staff_client("reviewers")
    assert reviewer.get(f"/api/v1/certification/{run.pk}").status_code == 200
    auth = (("authorization", reviewer._credentials["HTTP_AUTHORIZATION"]),)

    [only] = list(stub.WatchRun(pb.WatchRunRequest(run_id=run.pk), metadata=auth, timeout=30))

    assert (only.run_id, only.status, only.finished) == (run.pk, "passed", True)


def test_watches_beyond_the_cap_are_resource_exhausted(stub, vendor):
    tenant, auth = vendor
    run = queued_run(tenant)
    request = pb.WatchRunRequest(run_id=run.pk)
    first = stub.WatchRun(request, metadata=auth, timeout=60)
    assert next(first).status == "queued"
    with pytest.raises(grpc.RpcError) as refused:
        next(stub.WatchRun(request, metadata=auth, timeout=30))
    error = refused.value
    trailers = dict(error.trailing_metadata())
    assert (error.code(), trailers["edgeplug-code"]) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "throttled",
    )
    # As a throttled usage report says it: whole seconds, and the standard RetryInfo.
    [detail] = rpc_status.from_call(error).details
    info = error_details_pb2.RetryInfo()
    assert detail.Unpack(info) and info.retry_delay.seconds == int(trailers["retry-after"]) >= 1
    first.cancel()


def test_a_watch_refused_permission_denied_is_audited_with_its_caller(stub, vendor, monkeypatch):
    """As the API audits its 403s. No watch is refused with one today (a run the caller may not
    see is NOT_FOUND), so the run lookup is made to refuse it, as an action's refusal would."""
    tenant, auth = vendor
    run = queued_run(tenant)

    def refuse(request):
        raise Forbidden("Developers may not watch this run.")

    monkeypatch.setattr(grpc_watch, "runs_for", refuse)

    with pytest.raises(grpc.RpcError) as refused:
        next(stub.WatchRun(pb.WatchRunRequest(run_id=run.pk), metadata=auth, timeout=60))

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    [event] = AuditEvent.objects.filter(action="permission_denied")
    assert (event.actor, event.tenant) == (Membership.objects.get(tenant=tenant).user, tenant)
    assert event.target == "POST /edgeplug.certification.v1.CertificationService/WatchRun"
    assert event.details == {
        "view": "edgeplug.certification.v1.CertificationService/WatchRun",
        "code": "permission_denied",
        "detail": "Developers may not watch this run.",
    }
