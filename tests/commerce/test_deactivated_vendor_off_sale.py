"""A vendor a platform admin makes inactive is off sale: its agents leave the catalogue and
cannot be ordered or deployed anew, while what customers bought keeps running. Made active
again, its agents are back."""

import pytest

from marketplace.models import CatalogueListing, Entitlement
from tests.commerce.conftest import catalogue, place_order
from tests.commerce.test_deployments import deploy, register, running
from tests.conftest import changeform_data

pytestmark = pytest.mark.django_db


def _set_active(admin_session, tenant, active: bool, capture) -> None:
    staff, _ = admin_session("platform-admins", is_superuser=True)
    url = f"/admin/tenancy/tenant/{tenant.pk}/change/"
    data = changeform_data(staff.get(url))
    if active:
        data["is_active"] = "on"
    else:
        data.pop("is_active", None)  # an unticked box is not sent
    with capture(execute=True):  # cached catalogue pages are forgotten on commit
        assert staff.post(url, data).status_code == 302


def test_a_deactivated_vendors_agents_leave_the_catalogue_and_cannot_be_bought(
    customer,
    agent,
    published,
    certificate,
    make_plan,
    api,
    admin_session,
    django_capture_on_commit_callbacks,
):
    client, _ = customer
    plan = make_plan("free")
    assert catalogue(api) == [agent.pk]  # now in the catalogue cache too

    _set_active(admin_session, agent.tenant, False, django_capture_on_commit_callbacks)

    assert catalogue(api) == [] and catalogue(client) == []  # before: [agent.pk]
    assert not CatalogueListing.objects.filter(agent=agent).exists()
    assert client.get(f"/api/v1/agents/{agent.pk}").status_code == 404
    refused = place_order(client, agent, plan, "after-deactivation")
    assert (refused.status_code, refused.json()["code"]) == (400, "not_available")
    assert "no longer sells" in refused.json()["detail"]

    _set_active(admin_session, agent.tenant, True, django_capture_on_commit_callbacks)

    assert catalogue(api) == [agent.pk]
    assert place_order(client, agent, plan, "after-reactivation").status_code == 201


def test_what_customers_bought_keeps_running_but_is_not_deployed_anew(
    customer,
    agent,
    published,
    certificate,
    make_plan,
    admin_session,
    django_capture_on_commit_callbacks,
):
    client, _ = customer
    _, device_api = running(client, agent, make_plan, published)

    _set_active(admin_session, agent.tenant, False, django_capture_on_commit_callbacks)

    body = device_api.get("/api/v1/device/assignments").json()
    assert [run["version"] for run in body["run"]] == ["1.0.0"] and body["stop"] == []
    assert device_api.get(body["run"][0]["download_url"]).status_code == 200
    # The customer's members still fetch what the tenant holds: the package, the bundle (to
    # install a replaced device by hand) and the certificate (to verify it offline).
    version_url = f"/api/v1/agents/{agent.pk}/versions/1.0.0"
    for path in ("/download", "/bundle", "/certificate"):
        assert client.get(version_url + path).status_code == 200, path
    assert client.get(f"/api/v1/agents/{agent.pk}").status_code == 404  # off the catalogue
    Entitlement.objects.update(seats=2)  # a free seat: only the vendor's state refuses
    other = deploy(client, register(client, "hw-2"), published)
    assert (other.status_code, other.json()["code"]) == (400, "unknown_version")
