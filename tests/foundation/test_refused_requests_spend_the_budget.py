"""A refused request spends its caller's budget as an answered one does: a member refused
for their role (403) by the per-user and per-tenant budgets, a caller whose credentials were
refused (401) by its address's. Past it the answer is 429 with Retry-After and nothing more
is looked up or written: before, each refusal was free and wrote its audit row, so one member
could fill the tenant's audit log as fast as the server answered, and a revoked fleet cost a
token lookup per request without end."""

import pytest
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from marketplace.devices import register_device, revoke_device
from tests.factories import TenantFactory
from tests.foundation.test_throttling import _rates

pytestmark = pytest.mark.django_db


def _assert_throttled(response) -> None:
    assert (response.status_code, response.json()["code"]) == (429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_requests_refused_for_the_role_spend_the_members_budget(member_client, settings):
    client, membership = member_client("billing")
    _rates(settings, user="5/min")

    answers = [client.get("/api/v1/tenant/members") for _ in range(8)]

    assert [a.status_code for a in answers[:5]] == [403] * 5
    for answer in answers[5:]:
        _assert_throttled(answer)
    denied = AuditEvent.objects.filter(action="permission_denied", actor=membership.user)
    assert denied.count() == 5  # none for the throttled ones


def test_requests_refused_for_the_role_spend_the_tenants_budget(member_client, settings):
    client, membership = member_client("billing")
    admin, _ = member_client("admin", tenant=membership.tenant)
    _rates(settings, tenant="3/min")

    codes = [client.get("/api/v1/tenant/members").status_code for _ in range(3)]

    assert codes == [403] * 3
    _assert_throttled(admin.get("/api/v1/tenant/members"))


def _device_client(token: str, address: str) -> APIClient:
    api = APIClient(REMOTE_ADDR=address)
    api.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return api


def test_a_revoked_device_token_spends_its_addresses_budget(settings):
    issued = register_device(TenantFactory(), name="d", hardware_id="hw-r", core="cortex-m4")
    revoke_device(issued.device)
    _rates(settings, anon="3/min", device="3/min")
    fleet = _device_client(issued.token, "198.51.100.20")

    answers = [fleet.post("/api/v1/usage/events", {"events": []}, format="json") for _ in range(5)]

    assert [a.status_code for a in answers[:3]] == [401] * 3
    for answer in answers[3:]:
        _assert_throttled(answer)
    # Per address: the same token from elsewhere is refused as before, not throttled.
    elsewhere = _device_client(issued.token, "198.51.100.21")
    assert elsewhere.post("/api/v1/usage/events", {"events": []}, format="json").status_code == 401


def test_a_forged_access_token_spends_its_addresses_budget(api, settings):
    _rates(settings, anon="2/min")
    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")

    codes = [api.get("/api/v1/auth/me").status_code for _ in range(2)]

    assert codes == [401, 401]
    _assert_throttled(api.get("/api/v1/auth/me"))


def test_drf_s_initial_is_still_the_one_the_project_s_order_copies():
    """``edgeplug.core.api_request_order`` replaces DRF's ``APIView.initial`` by a copy with
    the throttles moved first: a DRF whose ``initial`` reads otherwise fails here, for the copy
    to be read again (its steps, in DRF's order, then ours)."""
    import inspect

    from edgeplug.core.api_request_order import DRF_INITIAL

    steps = [
        line.strip()
        for line in inspect.getsource(DRF_INITIAL).splitlines()
        if line.strip().startswith(("self.", "neg =", "request.", "version,"))
    ]
    assert steps == [
        "self.format_kwarg = self.get_format_suffix(**kwargs)",
        "neg = self.perform_content_negotiation(request)",
        "request.accepted_renderer, request.accepted_media_type = neg",
        "version, scheme = self.determine_version(request, *args, **kwargs)",
        "request.version, request.versioning_scheme = version, scheme",
        "self.perform_authentication(request)",
        "self.check_permissions(request)",
        "self.check_throttles(request)",
    ]
