"""Admin pages cost the same number of queries with 2 rows as with 20: a changelist, a change
page's inline, a list action's confirmation. Each case names what it cost a row before."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import invoicing
from billing.models import Invoice, InvoiceKind, InvoiceStatus, MoneyToGiveBack
from edgeplug.audit.services import record_event
from tests.factories import (
    MembershipFactory,
    OrderFactory,
    TenantFactory,
    UserFactory,
    VendorTenantFactory,
)
from tests.invoicing.conftest import JAN, MAR, Customer

pytestmark = pytest.mark.django_db


def _overpaid(n: int, _owner) -> None:
    for i in range(n):
        record_event(
            "invoice_overpaid",
            tenant=TenantFactory(),
            target=f"invoice {i}",
            details={"excess": 100, "currency": "eur", "payment_intent": f"pi_{i}"},
        )


def _events(n: int, _owner) -> None:
    for i in range(n):
        record_event("member_added", tenant=TenantFactory(), target=f"member {i}")


def _orders(n: int, _owner) -> None:
    OrderFactory.create_batch(n)


def _members(n: int, tenant) -> None:
    MembershipFactory.create_batch(n, tenant=tenant, role="developer")


def _memberships(n: int, user) -> None:
    for _ in range(n):
        MembershipFactory(user=user, role="developer")


def _drafts(n: int, _owner) -> None:
    """``n`` customers with a billing account and January's usage, and their drafts as the
    month's close writes them: ready to finalize."""
    vendor = VendorTenantFactory()
    for _ in range(n):
        customer = Customer(TenantFactory(), vendor)
        customer.account()
        customer.ran(customer.metered(), JAN, 2)
    invoicing.close_billing_period(JAN)


def _finalized(n: int, _owner) -> None:
    """``n`` such invoices finalized: open, to credit or to email again."""
    _drafts(n, _owner)
    for draft in Invoice.objects.filter(status=InvoiceStatus.DRAFT):
        invoicing.finalize_invoice(draft, now=MAR)


def _invoice_action(action: str):
    def confirm(client, _owner):
        chosen = list(Invoice.objects.filter(kind=InvoiceKind.INVOICE).values_list("pk", flat=True))
        return client.post(
            "/admin/billing/invoice/", {"action": action, "_selected_action": chosen}
        )

    return confirm


def _money_back_action(action: str):
    def confirm(client, _owner):
        chosen = list(MoneyToGiveBack.objects.values_list("pk", flat=True))
        return client.post(
            "/admin/billing/moneytogiveback/", {"action": action, "_selected_action": chosen}
        )

    return confirm


def _get(url: str):
    return lambda client, owner: client.get(url.format(owner=owner.pk if owner else ""))


# (group, what owns the rows (a tenant, a user, or nothing), how rows are made, the request)
PAGES = {
    # each row's tenant read on its own: a nullable link, which Django does not join
    "audit events": ("platform-admins", None, _events, _get("/admin/audit/auditevent/")),
    "money to give back": (
        "finance",
        None,
        _overpaid,
        _get("/admin/billing/moneytogiveback/"),
    ),
    "money back: refund in Stripe": (
        "finance",
        None,
        _overpaid,
        _money_back_action("refund_in_stripe"),
    ),
    "money back: record settled": ("finance", None, _overpaid, _money_back_action("settle")),
    # each draft's billing account and lines read on their own (``finalize_previews``)
    "invoices: finalize now": ("finance", None, _drafts, _invoice_action("finalize_now")),
    # each invoice's lines and what was credited of them (``whole_invoice_credits``)
    "invoices: credit in full": ("finance", None, _finalized, _invoice_action("credit_in_full")),
    # each invoice's billing account read on its own (``invoice_recipients``)
    "invoices: resend the email": ("finance", None, _finalized, _invoice_action("resend_email")),
    # each row's checkbox label is the order's name: order, plan, agent, vendor
    "orders": ("finance", None, _orders, _get("/admin/marketplace/order/")),
    # each membership row looked up its user and tenant again, three queries a row
    "a tenant's members": (
        "platform-admins",
        "tenant",
        _members,
        _get("/admin/tenancy/tenant/{owner}/change/"),
    ),
    "a user's memberships": (
        "platform-admins",
        "user",
        _memberships,
        _get("/admin/accounts/user/{owner}/change/"),
    ),
}


@pytest.mark.parametrize("page", list(PAGES))
def test_an_admin_page_costs_the_same_with_two_rows_or_twenty(admin_session, page):
    group, owned_by, make, request = PAGES[page]
    client, _ = admin_session(group, is_superuser=group == "platform-admins")
    owner = {"tenant": TenantFactory, "user": UserFactory}[owned_by]() if owned_by else None

    def cost() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert request(client, owner).status_code == 200
        return len(ctx)

    make(2, owner)
    cost()  # the first request of the session reads what is cached after it
    few = cost()
    make(18, owner)
    assert cost() == few
