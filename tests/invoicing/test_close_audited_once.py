"""A month closed on demand by the Celery task (``billing.tasks.close_billing_month``) is
audited for what it did, once: run again by the worker (a redelivery after acks_late, or
operations closing the same month twice) it records nothing new, and retried after a lost
database connection (its ``autoretry_for``) each draft is counted in one
``billing_period_closed`` event only, whether the connection went during a batch's writes or
while the audit event itself was written."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import OperationalError

from billing import invoicing, tasks
from billing.models import Invoice
from edgeplug.audit.models import AuditEvent
from tests.invoicing.conftest import JAN


@pytest.fixture
def two_customers(make_customer):
    customers = [make_customer(), make_customer()]
    for n, customer in enumerate(customers):
        customer.ran(customer.metered(), JAN + timedelta(days=2 + n), 3)
    return customers


def closed_events():
    return list(AuditEvent.objects.filter(action="billing_period_closed").order_by("id"))


def drafted_events():
    return Counter(
        e.details["invoice"] for e in AuditEvent.objects.filter(action="invoice_drafted")
    )


def fail_once(monkeypatch, name: str, when=lambda *args, **kwargs: True) -> list[str]:
    """``invoicing.<name>`` raises what a dropped PostgreSQL connection raises, the first time
    ``when`` holds for its arguments; the calls that failed are listed."""
    real = getattr(invoicing, name)
    failed: list[str] = []

    def flaky(*args, **kwargs):
        if not failed and when(*args, **kwargs):
            failed.append(name)
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(invoicing, name, flaky)
    return failed


def test_closing_a_month_twice_through_the_worker_audits_the_close_once(
    two_customers, eager_celery
):
    first = tasks.close_billing_month.delay("2026-01").get()
    again = tasks.close_billing_month.delay("2026-01").get()

    assert (first["created"], again["created"], again["unchanged"]) == (2, 0, 2)
    (event,) = closed_events()
    assert (event.details["via"], event.details["created"]) == ("celery", 2)
    assert sorted(drafted_events().values()) == [1, 1]


def test_a_close_retried_after_a_lost_connection_midway_audits_each_draft_once(
    two_customers, monkeypatch
):
    monkeypatch.setattr(invoicing, "CLOSE_BATCH", 1)  # a batch per tenant
    second = two_customers[1].tenant.pk
    # The connection drops while the second batch writes its draft's lines, after the first
    # batch committed: the task fails, and Celery retries it (``apply`` runs the retry at
    # once, without its countdown, as the worker would run it after).
    failed = fail_once(
        monkeypatch, "_write_lines", lambda invoice, specs, *a: invoice.tenant_id == second
    )

    result = tasks.close_billing_month.apply(args=["2026-01"]).get()

    assert failed == ["_write_lines"]
    assert (result["created"], result["unchanged"]) == (1, 1)  # the retry's own work
    drafts = set(Invoice.objects.values_list("pk", flat=True))
    assert len(drafts) == 2 and drafted_events() == Counter(dict.fromkeys(drafts, 1))
    events = closed_events()
    assert sum(e.details["created"] for e in events) == 2
    assert all(e.details["created"] + e.details["updated"] > 0 for e in events)


def test_a_close_whose_audit_write_fails_is_audited_once_with_what_it_did(
    two_customers, monkeypatch
):
    failed = fail_once(monkeypatch, "record_event", lambda action, **kw: "closed" in action)

    result = tasks.close_billing_month.apply(args=["2026-01"]).get()

    assert failed == ["record_event"]
    assert Invoice.objects.count() == 2
    (event,) = closed_events()
    assert (event.details["created"], event.details["unchanged"]) == (2, 0)
    assert result["created"] == 2
    assert sorted(drafted_events().values()) == [1, 1]
