"""A plan suspended for non-payment still ends when it ends: once its validity is over it is
``expired``, as any lapsed entitlement (docs/commerce.md, *Cancelling a metered plan*), and
paying the debt afterwards gives back only the plans still running. Before, the status-now
rule and the 15-minute ``expire_entitlements`` took only active entitlements, so a cancelled
plan read ``suspended`` (its ``cancel_at`` in the past) for as long as the debt was unpaid,
and paying it made the ended plan active again."""

from datetime import timedelta

import pytest

from edgeplug.audit.models import AuditEvent
from marketplace import tasks as marketplace_tasks
from tests.dunning.conftest import signed_in
from tests.dunning.test_tenant_pays_invoice_now import card_fixed, pay
from tests.invoicing.conftest import MAR

pytestmark = pytest.mark.django_db


def _cancelled(customer) -> dict:
    """The tenant cancels its suspended metered plan on 4 February: it ends on 1 March."""
    url = f"/api/v1/entitlements/{customer.entitlement.pk}"
    cancelled = signed_in(customer).post(f"{url}/cancel")
    assert cancelled.status_code == 200, cancelled.content
    body = cancelled.json()
    assert (body["status"], body["cancel_at"]) == ("suspended", "2026-03-01T00:00:00Z")
    return body


def _as_the_tenant_reads_it(customer, status: str) -> tuple[dict, list[int]]:
    """The plan (``GET /entitlements/{id}``) and the ids ``?status=`` lists."""
    api = signed_in(customer)
    body = api.get(f"/api/v1/entitlements/{customer.entitlement.pk}").json()
    listed = api.get(f"/api/v1/entitlements?status={status}").json()
    return body, [row["id"] for row in listed["results"]]


def test_a_cancelled_plan_suspended_for_non_payment_is_expired_once_it_ends(uncollectible, clock):
    customer, _ = uncollectible
    _cancelled(customer)

    clock.move_to(MAR + timedelta(minutes=5), tick=False)  # before the 15-minute job
    body, expired = _as_the_tenant_reads_it(customer, "expired")
    assert body["status"] == "expired", body
    assert expired == [customer.entitlement.pk]

    marketplace_tasks.expire_entitlements.apply().get()
    body, expired = _as_the_tenant_reads_it(customer, "expired")
    assert (body["status"], body["cancel_at"]) == ("expired", "2026-03-01T00:00:00Z"), body
    assert expired == [customer.entitlement.pk]
    assert _as_the_tenant_reads_it(customer, "suspended")[1] == []
    assert AuditEvent.objects.filter(action="entitlement_expired").count() == 1


def test_paying_the_debt_after_the_plan_ended_does_not_give_it_back(uncollectible, clock):
    customer, invoice = uncollectible
    _cancelled(customer)

    clock.move_to(MAR + timedelta(minutes=5), tick=False)  # ended; the job has not run yet
    paid = pay(card_fixed(customer), invoice)
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.content

    body, expired = _as_the_tenant_reads_it(customer, "expired")
    assert body["status"] == "expired" and expired == [customer.entitlement.pk]
    assert not AuditEvent.objects.filter(action="entitlement_reactivated").exists()
    marketplace_tasks.expire_entitlements.apply().get()
    body, active = _as_the_tenant_reads_it(customer, "active")
    assert (body["status"], active) == ("expired", [])
