"""A tenant cancels a metered plan (``POST /api/v1/entitlements/{id}/cancel``): it stays
usable to the end of the UTC month, which is billed (fee and hours) and no month after; it
may take the cancellation back (``…/resume``) before then. What cannot be cancelled, or
resumed, is refused with its code, and documented."""

from datetime import timedelta

import pytest
from lxml import html

from billing import invoicing
from billing.models import Invoice, LineKind
from edgeplug.audit.models import AuditEvent
from marketplace import tasks as marketplace_tasks
from marketplace.models import Entitlement, EntitlementStatus
from tests.conftest import sign_in
from tests.factories import EntitlementFactory, PricePlanFactory, VendorTenantFactory
from tests.invoicing.conftest import FEB, JAN, MAR, Customer
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db

CANCEL = "POST /api/v1/entitlements/{id}/cancel"
RESUME = "POST /api/v1/entitlements/{id}/resume"
MID_JANUARY = JAN + timedelta(days=19, hours=7)


@pytest.fixture
def buyer(member_client, time_machine):
    """A customer's admin in mid-January 2026 holding a metered plan since 1 January
    (1000 a month, 100 an agent-hour): (client, Customer, entitlement)."""
    time_machine.move_to(MID_JANUARY, tick=False)
    client, membership = member_client("admin")
    client.user = membership.user
    customer = Customer(membership.tenant, VendorTenantFactory())
    return client, customer, customer.metered()


def later(time_machine, client, moment):
    """``moment`` come, and the client signed in again (an access token lasts minutes)."""
    time_machine.move_to(moment, tick=False)
    client.credentials()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, client.user)['access']}")


def cancel(client, entitlement):
    return client.post(f"/api/v1/entitlements/{entitlement.pk}/cancel")


def resume(client, entitlement):
    return client.post(f"/api/v1/entitlements/{entitlement.pk}/resume")


def lines(invoice_id):
    invoice = Invoice.objects.get(pk=invoice_id)
    return list(invoice.lines.order_by("position").values_list("kind", "amount"))


def test_a_cancelled_plan_runs_to_the_end_of_the_month_and_is_billed_for_it_only(buyer):
    client, customer, entitlement = buyer
    customer.ran(entitlement, JAN + timedelta(days=2), 2)

    response = cancel(client, entitlement)

    assert response.status_code == 200, response.json()
    assert_documented(response, CANCEL)
    body = response.json()
    assert body["status"] == "active"
    assert body["valid_until"] == body["cancel_at"] == "2026-02-01T00:00:00Z"
    assert body["cancelled_at"] == "2026-01-20T07:00:00Z"
    assert client.get(f"/api/v1/entitlements/{entitlement.pk}").json() == body
    assert Entitlement.objects.filter(pk=entitlement.pk).in_force(FEB - timedelta(seconds=1))
    (event,) = AuditEvent.objects.filter(action="entitlement_cancelled")
    assert event.tenant_id == customer.tenant.pk
    assert event.details["ends_at"] == "2026-02-01T00:00:00Z"

    customer.ran(entitlement, JAN + timedelta(days=30, hours=23), 1)  # its last hour
    customer.ran(entitlement, FEB, 3)  # a device that kept running is not billed for it
    (january,) = invoicing.close_billing_period(JAN).created
    assert lines(january) == [(LineKind.FLAT_FEE, 1000), (LineKind.USAGE, 300)]
    assert invoicing.close_billing_period(FEB).created == []
    assert invoicing.close_billing_period(MAR).created == []


def test_cancelling_again_answers_the_same(buyer, time_machine):
    client, _, entitlement = buyer
    first = cancel(client, entitlement).json()
    later(time_machine, client, MID_JANUARY + timedelta(days=3))

    again = cancel(client, entitlement)

    assert (again.status_code, again.json()) == (200, first)
    assert AuditEvent.objects.filter(action="entitlement_cancelled").count() == 1


def test_resuming_before_the_month_ends_keeps_the_plan_and_its_fee(buyer):
    client, customer, entitlement = buyer
    cancel(client, entitlement)

    response = resume(client, entitlement)

    assert response.status_code == 200, response.json()
    assert_documented(response, RESUME)
    body = response.json()
    assert (body["valid_until"], body["cancel_at"], body["cancelled_at"]) == (None, None, None)
    assert AuditEvent.objects.filter(action="entitlement_resumed").count() == 1
    customer.account()
    invoicing.close_billing_period(JAN)
    (february,) = invoicing.close_billing_period(FEB).created
    assert lines(february) == [(LineKind.FLAT_FEE, 1000)]


def test_resuming_a_plan_not_cancelled_is_refused(buyer):
    client, _, entitlement = buyer
    response = resume(client, entitlement)
    assert (response.status_code, response.json()["code"]) == (409, "not_cancelled")
    assert_documented(response, RESUME)


def test_once_the_month_is_over_the_plan_has_ended(buyer, time_machine):
    client, _, entitlement = buyer
    cancel(client, entitlement)
    later(time_machine, client, FEB)

    for call, operation in ((resume, RESUME), (cancel, CANCEL)):
        response = call(client, entitlement)
        assert (response.status_code, response.json()["code"]) == (409, "entitlement_ended")
        assert_documented(response, operation)
    assert client.get(f"/api/v1/entitlements/{entitlement.pk}").json()["status"] == "expired"


def test_an_ended_cancelled_plan_keeps_its_cancel_date_before_and_after_the_expiry_job(
    buyer, time_machine
):
    """``cancel_at`` was read from the stored status: an ended cancelled plan answered its
    date until the 15-minute expiry job ran, then null, the same plan ended the same way.
    It keeps the date it ended on, as the field says (null only when a refund revoked it)."""
    client, _, entitlement = buyer
    cancel(client, entitlement)
    later(time_machine, client, FEB + timedelta(minutes=5))

    before = client.get(f"/api/v1/entitlements/{entitlement.pk}").json()
    marketplace_tasks.expire_entitlements.apply().get()
    after = client.get(f"/api/v1/entitlements/{entitlement.pk}")

    assert_documented(after, "GET /api/v1/entitlements/{id}")
    for body in (before, after.json()):
        assert (body["status"], body["cancel_at"]) == ("expired", "2026-02-01T00:00:00Z"), body


@pytest.mark.parametrize("status", [EntitlementStatus.REVOKED, EntitlementStatus.EXPIRED])
def test_an_ended_entitlement_cannot_be_cancelled(buyer, status):
    client, _, entitlement = buyer
    Entitlement.objects.filter(pk=entitlement.pk).update(status=status)
    response = cancel(client, entitlement)
    assert (response.status_code, response.json()["code"]) == (409, "entitlement_ended")


@pytest.mark.parametrize(
    "plan", [{"kind": "one_time", "amount": 5000}, {"kind": "free"}], ids=["one_time", "free"]
)
def test_a_one_time_or_free_entitlement_is_not_cancellable(buyer, plan):
    client, customer, _ = buyer
    bought = PricePlanFactory(key=plan["kind"], **plan)
    held = EntitlementFactory(order=customer._order(bought, amount=0, at=JAN))

    response = cancel(client, held)

    assert (response.status_code, response.json()["code"]) == (409, "not_cancellable")
    assert "nothing to cancel" in response.json()["detail"]
    assert_documented(response, CANCEL)
    held.refresh_from_db()
    assert held.valid_until is None


@pytest.mark.parametrize(
    ("role", "own_tenant", "status"),
    [("developer", True, 403), ("operator", True, 403), ("admin", False, 404)],
)
def test_who_may_not_buy_or_is_another_tenant_may_not_cancel(
    buyer, member_client, role, own_tenant, status
):
    """A role that may not buy is refused; another tenant's admin finds nothing."""
    _, customer, entitlement = buyer
    tenant = {"tenant": customer.tenant} if own_tenant else {}
    client, _ = member_client(role, **tenant)
    for call in (cancel, resume):
        response = call(client, entitlement)
        assert response.status_code == status, response.json()
    entitlement.refresh_from_db()
    assert entitlement.valid_until is None


def test_a_billing_member_cancels(buyer, member_client):
    _, customer, entitlement = buyer
    client, _ = member_client("billing", tenant=customer.tenant)
    assert cancel(client, entitlement).status_code == 200


def test_finance_sees_in_the_admin_that_the_tenant_cancelled(buyer, admin_session):
    """The entitlements list says when the tenant cancelled, beside when the plan ends."""
    client, _, entitlement = buyer
    cancel(client, entitlement)
    finance, _ = admin_session("finance")

    page = finance.get("/admin/marketplace/entitlement/", {"cancelled_at__isempty": "0"})

    assert page.status_code == 200
    row = html.fromstring(page.content).xpath(f'//tr[.//a[text()="{entitlement.pk}"]]')[0]
    cells = {cell.get("class").split()[0]: cell.text_content() for cell in row.xpath("td|th")}
    assert cells["field-cancelled_at"] == "Jan. 20, 2026, 7 a.m. UTC"
    assert cells["field-valid_until"] == "Feb. 1, 2026, midnight UTC"
    listed = finance.get("/admin/marketplace/entitlement/", {"cancelled_at__isempty": "1"})
    assert f">{entitlement.pk}</a>".encode() not in listed.content


def test_a_cancelled_plan_revoked_since_says_no_cancel_date(buyer):
    """Refunded in full after it was cancelled, it ended at the refund: ``cancel_at`` says
    nothing more (``valid_until`` says when it ended)."""
    client, _, entitlement = buyer
    cancel(client, entitlement)
    Entitlement.objects.filter(pk=entitlement.pk).update(status=EntitlementStatus.REVOKED)

    body = client.get(f"/api/v1/entitlements/{entitlement.pk}").json()

    assert body["cancel_at"] is None and body["valid_until"] == "2026-02-01T00:00:00Z"
