"""A read-only admin page links a related object to its page only where the reader may open
that page; elsewhere it names it, as text. Django linked every one: a finance member's price
plan page linked its vendor tenant and its author, a reviewer's run page the user who asked
for it, and each of those links answered 403."""

import pytest

from tests.factories import PricePlanFactory, UserFactory

pytestmark = pytest.mark.django_db


def _plan_page(client, plan) -> str:
    page = client.get(f"/admin/marketplace/priceplan/{plan.pk}/change/")
    assert page.status_code == 200
    return page.content.decode()


def test_finance_reads_the_tenant_and_author_of_a_plan_as_text(admin_session):
    plan = PricePlanFactory(created_by=UserFactory(email="author@vendor.example"))
    tenant_page = f"/admin/tenancy/tenant/{plan.tenant_id}/change/"
    author_page = f"/admin/accounts/user/{plan.created_by_id}/change/"
    finance, _ = admin_session("finance")
    assert finance.get(tenant_page).status_code == 403  # the page a link would lead to

    page = _plan_page(finance, plan)

    assert tenant_page not in page and author_page not in page
    assert str(plan.tenant) in page and "author@vendor.example" in page


def test_a_superuser_still_follows_them(admin_session):
    plan = PricePlanFactory(created_by=UserFactory(email="author@vendor.example"))
    superuser, _ = admin_session("platform-admins", is_superuser=True)

    page = _plan_page(superuser, plan)

    assert f'href="/admin/tenancy/tenant/{plan.tenant_id}/change/"' in page
    assert f'href="/admin/accounts/user/{plan.created_by_id}/change/"' in page
