"""The sales CSV's file name says the months it holds: the first and the last (over a year's
end too), or the one month alone. It named only the first month, so a file of three months
read as a file of one."""

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing_member(portal_vendor, time_machine):
    time_machine.move_to(datetime(2026, 3, 15, 12, tzinfo=UTC), tick=False)
    return portal_vendor("billing")


@pytest.mark.parametrize(
    ("months", "named"),
    [
        ("3", "2026-01--2026-03"),
        ("4", "2025-12--2026-03"),
        ("", "2025-04--2026-03"),  # the page's default, twelve months
        ("1", "2026-03"),
    ],
)
def test_the_sales_csv_is_named_for_the_months_it_holds(billing_member, months, named):
    response = billing_member.client.get(f"/portal/sales.csv?months={months}")
    assert response.status_code == 200
    slug = billing_member.tenant.slug
    assert response["Content-Disposition"] == f'attachment; filename="sales-{slug}-{named}.csv"'
