"""The portal's writes count against the API's budgets per user (``THROTTLE_USER``) and per
tenant (``THROTTLE_TENANT``): one budget whichever door a request comes through. Past it a
form answers 429 with ``Retry-After`` and writes nothing; reading pages spends nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from edgeplug import signing
from edgeplug.tenancy.models import Membership
from marketplace.models import AgentVersion, VendorKey, WorkflowPackage
from tests.conftest import sign_in
from tests.factories import MembershipFactory
from tests.portal.test_workflow_packages import _document, _upload
from tests.review.conftest import INVALID_MARKER
from tests.vendors import package

pytestmark = pytest.mark.django_db

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


def _rates(settings, **rates):
    base = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    base.update(rates)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": base}


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, user)['access']}")
    return client


def _spend(api: APIClient, times: int) -> None:
    for _ in range(times):
        assert api.get("/api/v1/auth/me").status_code == 200


def _upload_form(vendor, data: bytes) -> dict:
    return {
        "package": SimpleUploadedFile("agent.epk", data),
        "signature": SimpleUploadedFile("agent.epk.sig", vendor.sign(data)),
        "key_id": "",
        "level": "basic",
    }


def _key_form() -> dict:
    keys = signing.generate_keypair()
    return {"name": "ci", "public_key": signing.encode_b64(keys.public_key)}


def _assert_throttled(response) -> int:
    assert response.status_code == 429, response.content.decode()[-1500:]
    wait = int(response["Retry-After"])
    assert wait > 0
    return wait


def test_an_upload_past_the_tenants_budget_is_refused_and_stores_nothing(portal_vendor, settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"]}}
    ]
    settings.TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = INVALID_MARKER
    vendor = portal_vendor("developer")
    colleague = MembershipFactory(tenant=vendor.tenant, role="developer")
    api = _api(colleague.user)
    _rates(settings, tenant="2/min")
    _spend(api, 2)

    response = vendor.client.post("/portal/upload/", _upload_form(vendor, package()))
    wait = _assert_throttled(response)
    page = response.content.decode()
    assert "Too many requests" in page and f"try again in {wait} s" in page
    assert vendor.tenant.name in page  # in the portal's frame, with its navigation
    assert INVALID_MARKER.split("%s")[0] not in page
    assert AgentVersion.objects.count() == 0
    # The API refuses the same upload for the same reason.
    assert api.post("/api/v1/agents/upload", {}, format="multipart").status_code == 429


def test_the_upload_script_is_told_throttled_and_when_to_retry(portal_vendor, settings):
    vendor = portal_vendor("developer")
    api = _api(MembershipFactory(tenant=vendor.tenant, role="developer").user)
    _rates(settings, tenant="1/min")
    _spend(api, 1)

    response = vendor.client.post("/portal/upload/", _upload_form(vendor, package()), **XHR)
    wait = _assert_throttled(response)
    body = response.json()
    assert body["code"] == "throttled" and body["retry_after"] == wait
    assert f"try again in {wait} s" in body["detail"]
    assert AgentVersion.objects.count() == 0


def test_portal_writes_spend_the_tenant_budget_the_api_draws_on(portal_vendor, settings):
    vendor = portal_vendor("developer")
    api = _api(MembershipFactory(tenant=vendor.tenant, role="developer").user)
    _rates(settings, tenant="2/min")
    for _ in range(2):
        assert vendor.client.post("/portal/keys/", _key_form()).status_code == 302

    refused = api.get("/api/v1/auth/me")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"


def test_a_user_past_their_own_budget_registers_no_key_while_a_colleague_still_can(
    portal_vendor, settings
):
    vendor = portal_vendor("developer")
    colleague = portal_vendor("developer", tenant=vendor.tenant)
    api = _api(vendor.user)
    _rates(settings, user="2/min")
    _spend(api, 2)

    form = _key_form()
    _assert_throttled(vendor.client.post("/portal/keys/", form))
    assert not VendorKey.objects.filter(public_key=form["public_key"]).exists()
    assert colleague.client.post("/portal/keys/", form).status_code == 302
    assert VendorKey.objects.filter(public_key=form["public_key"]).exists()


def test_a_throttled_team_change_or_key_revocation_changes_nothing(portal_vendor, settings):
    admin = portal_vendor("admin")
    member = MembershipFactory(tenant=admin.tenant, role="developer")
    _rates(settings, tenant="1/min")
    _spend(_api(member.user), 1)

    role = admin.client.post(f"/portal/team/{member.pk}/role/", {f"m{member.pk}-role": "billing"})
    _assert_throttled(role)
    _assert_throttled(admin.client.post(f"/portal/team/{member.pk}/remove/"))
    _assert_throttled(admin.client.post(f"/portal/keys/{admin.key.key_id}/revoke/"))
    assert Membership.objects.get(pk=member.pk).role == "developer"
    admin.key.refresh_from_db()
    assert admin.key.revoked_at is None


def test_reading_pages_spends_no_budget(portal_vendor, settings):
    vendor = portal_vendor("developer")
    _rates(settings, user="1/min", tenant="1/min")
    for path in ("/portal/", "/portal/keys/", "/portal/upload/", "/portal/keys/"):
        assert vendor.client.get(path).status_code == 200

    assert vendor.client.post("/portal/keys/", _key_form()).status_code == 302
    _assert_throttled(vendor.client.post("/portal/keys/", _key_form()))
    assert vendor.client.get("/portal/keys/").status_code == 200  # still readable


@pytest.mark.parametrize("role", ["operator", "billing"])
def test_a_workflow_package_refused_for_the_role_spends_no_budget(portal_vendor, settings, role):
    """As the API: a request refused for its role (403) is not counted."""
    member = portal_vendor(role)
    _rates(settings, user="1/min", tenant="1/min")
    for _ in range(2):
        refused = _upload(member, _document(member))
        assert refused.status_code == 403, refused.content.decode()[-1500:]
        assert "Your role does not allow this" in refused.content.decode()
    assert not WorkflowPackage.objects.exists()
    # The whole budget is still there for the API.
    assert _api(member.user).get("/api/v1/auth/me").status_code == 200
