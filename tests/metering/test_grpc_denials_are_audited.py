"""A gRPC call refused with PERMISSION_DENIED (our 403) is audited as ``permission_denied``, as
the API, the portal and the admin audit theirs (a real server on loopback, a real client): the
caller's tenant, ``POST /package.Service/Method`` as the target, the peer's address, the
method's full name as the ``view`` and the refusal's code and detail.

No usage call is refused with a 403 today (an event for an agent the device may not run is that
event's ``rejected`` outcome, the rest of the batch accepted), so the usage action is made to
refuse the call with one, as an action's own refusal (``not_entitled``) would."""

import grpc
import pytest
from django.db import connection, transaction
from google.protobuf.timestamp_pb2 import Timestamp

from billing import usage
from edgeplug import grpc_server
from edgeplug.audit.models import AuditEvent
from edgeplug.usage.v1 import usage_pb2 as pb
from edgeplug.usage.v1 import usage_pb2_grpc
from marketplace.errors import NotEntitled
from marketplace.models import Device
from tests.concurrency import needs_row_locks, wait_for_blocked_backend

pytestmark = pytest.mark.django_db(transaction=True)

REFUSAL = "Your tenant holds no active entitlement to this agent."


@pytest.fixture
def stub(grpc_channel):
    return usage_pb2_grpc.UsageServiceStub(grpc_channel)


@pytest.fixture
def refused_usage(monkeypatch):
    def refuse(device, events):
        raise NotEntitled(REFUSAL)

    monkeypatch.setattr(usage, "record_usage_batch", refuse)


def heartbeat(metered) -> pb.ReportBatchRequest:
    at = Timestamp()
    at.FromDatetime(metered.base)
    event = pb.UsageEvent(
        seq=1, kind=pb.KIND_HEARTBEAT, agent=metered.agent_id, version=metered.version, at=at
    )
    return pb.ReportBatchRequest(events=[event])


@pytest.mark.usefixtures("refused_usage")
def test_a_report_refused_permission_denied_is_audited_with_the_devices_tenant(stub, metered):
    device = Device.objects.get(pk=metered.device_id)
    auth = (("authorization", metered.device_api._credentials["HTTP_AUTHORIZATION"]),)

    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(heartbeat(metered), metadata=auth)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert dict(refused.value.trailing_metadata())["edgeplug-code"] == "not_entitled"
    [event] = AuditEvent.objects.filter(action="permission_denied")
    assert (event.actor, event.tenant) == (None, device.tenant)
    assert event.target == "POST /edgeplug.usage.v1.UsageService/ReportBatch"
    assert event.ip == "127.0.0.1"
    assert event.details == {
        "view": "edgeplug.usage.v1.UsageService/ReportBatch",
        "code": "not_entitled",
        "detail": REFUSAL,
    }


@pytest.mark.usefixtures("refused_usage")
def test_a_refused_stream_is_audited_once(stub, metered):
    auth = (("authorization", metered.device_api._credentials["HTTP_AUTHORIZATION"]),)

    with pytest.raises(grpc.RpcError) as refused:
        stub.Report(iter([heartbeat(metered), heartbeat(metered)]), metadata=auth)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    [event] = AuditEvent.objects.filter(action="permission_denied")
    assert event.target == "POST /edgeplug.usage.v1.UsageService/Report"
    assert event.details["view"] == "edgeplug.usage.v1.UsageService/Report"
    assert event.tenant == Device.objects.get(pk=metered.device_id).tenant


def test_a_report_answered_writes_no_denial(stub, metered):
    auth = (("authorization", metered.device_api._credentials["HTTP_AUTHORIZATION"]),)

    stub.ReportBatch(heartbeat(metered), metadata=auth)

    assert not AuditEvent.objects.filter(action="permission_denied").exists()


@needs_row_locks
@pytest.mark.usefixtures("refused_usage")
def test_a_refusal_whose_audit_write_loses_the_database_is_unavailable(stub, metered):
    """The refusal is decided but the connection is lost while its audit event is written
    (the test holds the audit table, then ends the call's connection waiting on it): the
    call answers UNAVAILABLE database_unavailable, the code of every call that loses the
    database, not UNKNOWN; the device's retry is refused and audited."""
    auth = (("authorization", metered.device_api._credentials["HTTP_AUTHORIZATION"]),)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {AuditEvent._meta.db_table} IN EXCLUSIVE MODE")
        refusal = stub.ReportBatch.future(heartbeat(metered), metadata=auth)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [wait_for_blocked_backend()])
        with pytest.raises(grpc.RpcError) as lost:
            refusal.result(timeout=30)
    assert lost.value.code() == grpc.StatusCode.UNAVAILABLE
    assert dict(lost.value.trailing_metadata())["edgeplug-code"] == "database_unavailable"
    assert not AuditEvent.objects.filter(action="permission_denied").exists()

    with pytest.raises(grpc.RpcError) as refused:
        stub.ReportBatch(heartbeat(metered), metadata=auth)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert AuditEvent.objects.filter(action="permission_denied").count() == 1


@pytest.mark.usefixtures("refused_usage")
def test_a_refusal_whose_audit_fails_otherwise_is_internal_and_tells_nothing(
    stub, metered, monkeypatch
):
    """A fault of ours while auditing the refusal (not the database's): INTERNAL
    internal_error, as any fault of ours, not UNKNOWN with the exception's text."""

    def broken(request, error, *, actor=None):
        raise RuntimeError("the text of a fault: /srv/edgeplug/secret.py")

    monkeypatch.setattr(grpc_server, "record_if_denied", broken)
    auth = (("authorization", metered.device_api._credentials["HTTP_AUTHORIZATION"]),)
    with pytest.raises(grpc.RpcError) as failed:
        stub.ReportBatch(heartbeat(metered), metadata=auth)
    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert dict(failed.value.trailing_metadata())["edgeplug-code"] == "internal_error"
    assert "secret" not in failed.value.details()
