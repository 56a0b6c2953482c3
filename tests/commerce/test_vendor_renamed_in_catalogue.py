"""The catalogue follows a vendor renamed in the admin: its listings carry the vendor's name
(searched by ``q``), and cached catalogue answers made before the change are not served."""

import pytest

from marketplace.models import CatalogueListing
from tests.conftest import changeform_data

pytestmark = pytest.mark.django_db


def _found(api, q: str) -> list[int]:
    response = api.get("/api/v1/agents", {"q": q})
    assert response.status_code == 200
    return [agent["id"] for agent in response.json()["results"]]


def test_a_vendor_renamed_in_the_admin_is_found_by_its_new_name(
    agent, api, admin_session, django_capture_on_commit_callbacks
):
    before = api.get("/api/v1/agents").json()["results"]  # now in the catalogue cache
    assert [a["id"] for a in before] == [agent.pk]
    assert _found(api, "Zyxwvut") == []
    staff, _ = admin_session("platform-admins", is_superuser=True)
    url = f"/admin/tenancy/tenant/{agent.tenant_id}/change/"
    data = changeform_data(staff.get(url))
    data.update({"name": "Zyxwvut Automation", "slug": "zyxwvut-automation"})

    with django_capture_on_commit_callbacks(execute=True):  # the cache is forgotten on commit
        assert staff.post(url, data).status_code == 302

    assert CatalogueListing.objects.get(agent=agent).vendor_name == "Zyxwvut Automation"
    assert _found(api, "Zyxwvut") == [agent.pk]  # before: [] (the listing kept the old name)
    [listed] = api.get("/api/v1/agents").json()["results"]
    assert (listed["vendor"], listed["vendor_name"]) == ("zyxwvut-automation", "Zyxwvut Automation")
