"""A vendor refused at the REST door is refused on an open gRPC ``WatchRun`` stream too: each
poll of the stream authenticates the caller and looks the run up again, as each REST poll of
``GET /api/v1/certification/{id}`` does, so a member removed from the team, a tenant
deactivated by staff or an access token that expired ends the stream UNAUTHENTICATED at the
next poll, instead of streaming the run's progress until it finishes."""

from datetime import timedelta

import grpc
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from certification.pipeline.state import mark_running
from edgeplug.certification.v1 import certification_pb2 as pb
from tests.certification.test_grpc_watch_run import (  # noqa: F401 - the gRPC server and client
    code_of,
    queued_run,
    stub,
    watch_settings,
)
from tests.conftest import changeform_data
from tests.factories import VendorTenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def watcher(member_client):
    """A developer of a vendor tenant: (their API client, their membership)."""
    return member_client("developer", tenant=VendorTenantFactory())


def _removed_from_the_team(membership, member_client, admin_session):
    admin, _ = member_client("admin", tenant=membership.tenant)
    assert admin.delete(f"/api/v1/tenant/members/{membership.pk}").status_code == 204


def _tenant_deactivated(membership, member_client, admin_session):
    staff, _ = admin_session("platform-admins", is_superuser=True)
    url = f"/admin/tenancy/tenant/{membership.tenant_id}/change/"
    data = changeform_data(staff.get(url))
    data.pop("is_active", None)
    assert staff.post(url, data).status_code == 302
    membership.tenant.refresh_from_db()
    assert not membership.tenant.is_active


def _password_changed(membership, member_client, admin_session):
    staff, _ = admin_session("platform-admins", is_superuser=True)
    new = "a much longer new passphrase"
    changed = staff.post(
        f"/admin/accounts/user/{membership.user_id}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    assert changed.status_code == 302


@pytest.mark.parametrize(
    ("refuse", "code"),
    [
        (_removed_from_the_team, "membership_revoked"),
        (_tenant_deactivated, "membership_revoked"),
        (_password_changed, "password_changed"),
    ],
    ids=["removed_from_the_team", "tenant_deactivated", "password_changed"],
)
def test_a_watcher_refused_mid_stream_is_cut_off_at_the_next_poll(
    refuse,
    code,
    stub,  # noqa: F811
    watcher,
    member_client,
    admin_session,
):
    client, membership = watcher
    run = queued_run(membership.tenant)
    auth = (("authorization", client._credentials["HTTP_AUTHORIZATION"]),)
    stream = stub.WatchRun(pb.WatchRunRequest(run_id=run.pk), metadata=auth, timeout=60)
    assert next(stream).status == "queued"

    refuse(membership, member_client, admin_session)
    refused = client.get(f"/api/v1/certification/{run.pk}")
    assert (refused.status_code, refused.json()["code"]) == (401, code)
    mark_running(run.pk)  # progress the stream would report (before: it did)

    # The stream ends with the code REST answered (before: always not_authenticated).
    assert code_of(stream) == (grpc.StatusCode.UNAUTHENTICATED, code)


def test_a_watch_ends_when_its_access_token_expires(stub, watcher):  # noqa: F811
    client, membership = watcher
    run = queued_run(membership.tenant)
    auth = (("authorization", client._credentials["HTTP_AUTHORIZATION"]),)
    stream = stub.WatchRun(pb.WatchRunRequest(run_id=run.pk), metadata=auth, timeout=60)
    assert next(stream).status == "queued"

    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    with time_machine.travel(timezone.now() + lifetime + timedelta(seconds=1)):
        expired = client.get(f"/api/v1/certification/{run.pk}")
        assert (expired.status_code, expired.json()["code"]) == (401, "token_not_valid")
        mark_running(run.pk)

        assert code_of(stream) == (grpc.StatusCode.UNAUTHENTICATED, "token_not_valid")


def test_a_refusal_between_a_polls_check_and_its_read_sends_no_progress(
    stub,  # noqa: F811
    watcher,
    monkeypatch,
):
    """A race CI once met: a poll authenticated the member, then the member was removed and
    the run progressed before the poll read it, and that progress went out to a caller REST
    had already refused. Here both happen at that very point of the next poll."""
    from certification import grpc_watch
    from edgeplug.tenancy.models import Membership

    client, membership = watcher
    run = queued_run(membership.tenant)
    auth = (("authorization", client._credentials["HTTP_AUTHORIZATION"]),)
    stream = stub.WatchRun(pb.WatchRunRequest(run_id=run.pk), metadata=auth, timeout=60)
    assert next(stream).status == "queued"
    scoped = grpc_watch.runs_for

    def refused_after_the_check(caller):
        if Membership.objects.filter(pk=membership.pk).delete()[0]:  # once
            mark_running(run.pk)
        return scoped(caller)

    monkeypatch.setattr(grpc_watch, "runs_for", refused_after_the_check)

    assert code_of(stream) == (grpc.StatusCode.UNAUTHENTICATED, "membership_revoked")
