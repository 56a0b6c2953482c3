"""An admin page with an empty ``_to_field`` (a related-object popup's "the row is named by
this field", given no field) answers as without it. Every change and delete page was a 500
(``CertificationRun has no field named ''``), even for staff who get 403 on that page:
Django checks ``_to_field`` only when it names a field, and looks the row up by it before it
asks the page's permission."""

import pytest

from tests.factories import CertificationRunFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _run_change(run, tenant) -> str:
    return f"/admin/certification/certificationrun/{run.pk}/change/"


def _run_delete(run, tenant) -> str:
    return f"/admin/certification/certificationrun/{run.pk}/delete/"


def _tenant_change(run, tenant) -> str:
    return f"/admin/tenancy/tenant/{tenant.pk}/change/"


@pytest.mark.parametrize(
    ("group", "page", "method", "status"),
    [
        ("reviewers", _run_change, "get", 200),  # a run the reviewer reads
        ("reviewers", _run_change, "post", 403),  # read-only: nobody saves a run here
        ("reviewers", _run_delete, "get", 403),
        ("finance", _tenant_change, "get", 403),  # tenants are not finance's pages
    ],
)
def test_a_page_with_an_empty_to_field_answers_as_without_it(
    admin_session, group, page, method, status
):
    url = page(CertificationRunFactory(), TenantFactory())
    client, _ = admin_session(group)
    send = getattr(client, method)

    assert send(url).status_code == status
    if method == "get":
        assert send(f"{url}?_to_field=").status_code == status
    else:
        assert send(url, {"_to_field": ""}).status_code == status
        assert send(f"{url}?_to_field=").status_code == status


def test_a_field_that_may_not_be_named_is_still_refused(admin_session):
    """What Django answers for a ``_to_field`` no popup may use: 400."""
    run = CertificationRunFactory()
    client, _ = admin_session("reviewers")
    page = client.get(f"/admin/certification/certificationrun/{run.pk}/change/?_to_field=nosuch")
    assert page.status_code == 400
