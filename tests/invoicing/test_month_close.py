"""Closing a UTC month: one draft per tenant and currency, idempotent, with flat fees,
metered agent-hours per entitlement, one-time orders shown as paid, refunds, late usage."""

from datetime import timedelta

import pytest

from billing import invoice_builder, invoice_documents, invoicing, tasks
from billing.errors import PeriodNotEnded
from billing.models import Invoice, InvoiceLine, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from marketplace import orders
from marketplace.models import Order, OrderStatus
from tests.invoices.pdf_reading import pdf_text
from tests.invoicing.conftest import FEB, JAN, MAR


def lines(invoice):
    return list(invoice.lines.order_by("position").values_list("kind", "amount"))


def test_close_makes_one_draft_with_fee_usage_and_paid_orders(customer):
    ent = customer.metered()
    customer.ran(ent, JAN + timedelta(days=2), 12)  # 12 hours: 10 at 100 + 2 at 50
    customer.ran(ent, JAN + timedelta(days=2), 3, device=1, seconds=1800)  # 1.5 hours more
    order = customer.one_time(amount=5000)

    result = invoicing.close_billing_period(JAN)

    (invoice,) = Invoice.objects.filter(tenant=customer.tenant)
    assert result.created == [invoice.pk]
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
    assert (invoice.period_start, invoice.period_end) == (JAN, FEB)
    assert invoice.finalize_after == FEB + timedelta(days=3)
    assert lines(invoice) == [
        (LineKind.FLAT_FEE, 1000),
        (LineKind.USAGE, 10 * 100 + int(3.5 * 50)),
        (LineKind.ONE_TIME_ORDER, 5000),
    ]
    usage = invoice.lines.get(kind=LineKind.USAGE)
    assert usage.usage_seconds == 12 * 3600 + 3 * 1800
    assert str(usage.quantity) == "13.500000"
    assert [s["amount"] for s in usage.breakdown["lines"]] == [1000, 175]
    paid = invoice.lines.get(kind=LineKind.ONE_TIME_ORDER)
    assert paid.is_paid and paid.order_id == order.pk
    assert invoice.subtotal == 1000 + 1175 + 5000
    assert invoice.prepaid_amount == 5000
    assert len(invoice.rollup_digest) == 64


def test_second_close_creates_nothing(customer):
    ent = customer.metered()
    customer.ran(ent, JAN, 5)
    first = invoicing.close_billing_period(JAN)
    second = invoicing.close_billing_period(JAN)
    assert len(first.created) == 1
    assert second.created == second.updated == []
    assert second.unchanged == first.created
    assert Invoice.objects.count() == 1
    assert InvoiceLine.objects.count() == 2


def test_beat_task_closes_the_previous_month(customer, time_machine):
    ent = customer.metered()
    customer.ran(ent, JAN, 2)
    time_machine.move_to(FEB + timedelta(hours=1))
    assert tasks.close_previous_month() == {
        "period": "2026-01",
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "withdrawn": 0,
        "credit_notes": [],
        "retries": 0,
        "caught_up": [],  # no earlier month with anything to bill missed
    }


def test_a_given_month_is_closed_again_on_demand(customer):
    ent = customer.metered()
    customer.ran(ent, JAN, 2)
    first = tasks.close_billing_month("2026-01")
    customer.ran(ent, JAN + timedelta(days=3), 1)  # late rollups, before the draft is final
    again = tasks.close_billing_month("2026-01")
    assert (first["created"], again["updated"], again["period"]) == (1, 1, "2026-01")
    assert Invoice.objects.get().lines.get(kind=LineKind.USAGE).usage_seconds == 3 * 3600
    closed = AuditEvent.objects.filter(action="billing_period_closed", details__via="celery")
    assert closed.count() == 2  # audited as every door's close is


def test_the_task_refuses_a_month_not_ended_as_the_other_doors_do(customer, time_machine):
    """The same action as ``close_month`` and the admin's Close period now."""
    customer.ran(customer.metered(), JAN, 2)
    time_machine.move_to(JAN + timedelta(days=20))
    with pytest.raises(PeriodNotEnded, match="2026-01 has not ended"):
        tasks.close_billing_month("2026-01")
    with pytest.raises(PeriodNotEnded, match="2026-02 has not started"):
        tasks.close_billing_month("2026-02", force=True)
    assert not Invoice.objects.exists()
    assert tasks.close_billing_month("2026-01", force=True)["created"] == 1


def test_one_draft_per_currency(customer):
    customer.metered(currency="EUR")
    customer.metered(currency="USD", terms={"scheme": "per_unit", "unit_amount": 7})
    customer.one_time(currency="JPY", amount=1200)
    invoicing.close_billing_period(JAN)
    currencies = set(Invoice.objects.values_list("currency", flat=True))
    assert currencies == {"EUR", "JPY"}  # USD per_unit without usage or fee costs nothing


def test_tenants_are_billed_apart(make_customer):
    a, b = make_customer(), make_customer()
    a.ran(a.metered(), JAN, 1)
    b.ran(b.metered(), JAN, 20)
    invoicing.close_billing_period(JAN)
    assert Invoice.objects.get(tenant=a.tenant).subtotal == 1000 + 100
    assert Invoice.objects.get(tenant=b.tenant).subtotal == 1000 + 1000 + 10 * 50


def test_rollups_arriving_during_grace_refresh_the_draft_keeping_adjustments(customer):
    ent = customer.metered()
    customer.ran(ent, JAN, 2)
    (draft_id,) = invoicing.close_billing_period(JAN).created
    draft = Invoice.objects.get(pk=draft_id)
    invoicing.add_adjustment_line(draft, description="Goodwill", amount=-300)
    customer.ran(ent, JAN + timedelta(days=10), 1)

    result = invoicing.close_billing_period(JAN)

    assert result.updated == [draft_id]
    draft.refresh_from_db()
    assert lines(draft) == [
        (LineKind.FLAT_FEE, 1000),
        (LineKind.USAGE, 300),
        (LineKind.ADJUSTMENT, -300),
    ]
    assert draft.subtotal == 1000


def test_late_usage_after_finalize_goes_on_the_next_invoice_at_the_marginal_price(customer):
    customer.account()
    ent = customer.metered()
    customer.ran(ent, JAN, 9)
    (jan_id,) = invoicing.close_billing_period(JAN).created
    jan = invoicing.finalize_invoice(Invoice.objects.get(pk=jan_id))
    customer.ran(ent, JAN + timedelta(days=20), 3)  # 3 more January hours, reported late
    customer.ran(ent, FEB, 1)

    (feb_id,) = invoicing.close_billing_period(FEB).created

    feb = Invoice.objects.get(pk=feb_id)
    late = feb.lines.get(kind=LineKind.LATE_USAGE)
    assert (late.period_start, late.period_end) == (JAN, FEB)
    assert late.usage_seconds == 3 * 3600
    assert late.amount == 100 + 2 * 50  # hour 10 in tier 1, hours 11-12 in tier 2
    assert late.breakdown["billed_before"]["total"] == 900
    assert late.breakdown["now"]["total"] == 1100
    jan.refresh_from_db()
    assert jan.lines.get(kind=LineKind.USAGE).amount == 900  # the issued invoice is untouched
    feb = invoicing.finalize_invoice(feb)
    # The PDF and the XML print slices that add up to the line (they printed none).
    (printed,) = [
        line
        for line in invoice_documents.invoice_document(feb).lines
        if line.description == late.description
    ]
    assert [(s["tier"], s["amount"]) for s in printed.breakdown] == [
        ("now: agent-hours 0-10", 1000),
        ("now: agent-hours 10-", 100),
        ("billed before: agent-hours 0-10", -900),
    ]
    assert sum(s["amount"] for s in printed.breakdown) == late.amount
    text = pdf_text(invoice_documents.invoice_pdf(feb))
    assert "billed before: agent-hours 0-10" in text and "-9.00" in text
    # Billed once: March's close finds nothing late any more.
    customer.ran(ent, MAR, 1)
    (mar_id,) = invoicing.close_billing_period(MAR).created
    assert not Invoice.objects.get(pk=mar_id).lines.filter(kind=LineKind.LATE_USAGE).exists()


@pytest.mark.parametrize("how", ["close_again", "void_and_close_again"])
def test_hours_a_later_invoice_billed_late_are_not_billed_again_by_their_month(customer, how):
    """January's draft still stands (no billing address yet: finalize leaves it a draft) when
    February's close bills 2 late January hours. Closing January again after late data, or
    voiding its invoice and closing again, bills the hours February did not (before: all 5,
    with February's 2 late ones billed twice)."""
    ent = customer.metered()
    customer.ran(ent, JAN, 3)
    (jan_id,) = invoicing.close_billing_period(JAN).created
    customer.ran(ent, JAN + timedelta(days=20), 2)  # reported after January was closed
    (feb_id,) = invoicing.close_billing_period(FEB).created
    late = Invoice.objects.get(pk=feb_id).lines.get(kind=LineKind.LATE_USAGE)
    assert late.usage_seconds == 2 * 3600
    customer.account()
    if how == "close_again":
        invoicing.close_billing_period(JAN)
        jan = Invoice.objects.get(pk=jan_id)
    else:
        invoicing.finalize_invoice(Invoice.objects.get(pk=jan_id))
        invoicing.void_invoice(Invoice.objects.get(pk=jan_id), reason="wrong address")
        (new_jan_id,) = invoicing.close_billing_period(JAN).created
        jan = Invoice.objects.get(pk=new_jan_id)

    usage = jan.lines.get(kind=LineKind.USAGE)
    assert usage.usage_seconds == 3 * 3600
    billed = InvoiceLine.objects.exclude(invoice__status=InvoiceStatus.VOID).filter(
        kind__in=invoice_builder.BILLED_USAGE_KINDS
    )
    assert sum(billed.values_list("usage_seconds", flat=True)) == 5 * 3600  # all, once
    assert (usage.amount, late.amount) == (300, 200)  # 1.00 an hour in the first tier


def test_refund_in_the_period_is_a_credit_line(customer):
    order = customer.one_time(amount=4000)
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.REFUNDED, refunded_at=JAN + timedelta(days=10)
    )
    invoicing.close_billing_period(JAN)
    invoice = Invoice.objects.get(tenant=customer.tenant, period_start=JAN)
    assert lines(invoice) == [(LineKind.ONE_TIME_ORDER, 4000), (LineKind.CREDIT, -4000)]
    assert invoice.subtotal == 0 and invoice.prepaid_amount == 0


def test_nothing_billable_makes_no_invoice(customer):
    customer.metered(terms={"scheme": "per_unit", "unit_amount": 10})
    assert invoicing.close_billing_period(JAN).created == []


def test_the_beat_schedule_names_registered_billing_tasks(settings):
    from edgeplug.celery import app

    app.loader.import_default_modules()
    billing = {
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"].startswith("billing.")
    }
    assert billing == {
        "billing.tasks.close_previous_month",
        "billing.tasks.finalize_due_invoices",
        "billing.tasks.retry_due_invoice_payments",
        "billing.tasks.reconcile_awaited_payments",
        "billing.tasks.collect_missed_first_charges",
        "billing.tasks.collect_missed_new_card_charges",
        "billing.tasks.email_missed_invoices",
        "billing.tasks.maintain_usage_partitions",
        "billing.tasks.retry_credit_note_refunds",
        "billing.tasks.recheck_card_refunds",
        "billing.tasks.fail_stalled_pdf_archives",
        "billing.tasks.delete_expired_pdf_archives",
    }
    assert billing <= set(app.tasks)


def test_the_close_builds_many_tenants_at_once_exactly_as_each_alone(make_customer, settings):
    """``build_drafts_of`` (the close reads all tenants together) gives each tenant the lines
    and digest ``build_drafts`` gives it alone: late usage, a mid-month start, two currencies
    and orders included."""
    first, second, idle = make_customer(), make_customer(), make_customer()
    first.account()
    old = first.metered()
    first.ran(old, JAN, 9)
    (jan_id,) = invoicing.close_billing_period(JAN).created
    invoicing.finalize_invoice(Invoice.objects.get(pk=jan_id))
    first.ran(old, JAN + timedelta(days=20), 3)  # late January usage
    first.ran(old, FEB, 5)
    first.ran(old, FEB + timedelta(hours=7), 2, device=1, seconds=900)
    usd = first.metered(currency="USD", since=FEB + timedelta(days=10, hours=5, minutes=30))
    first.ran(usd, FEB + timedelta(days=11), 4)
    first.one_time(amount=2500, at=FEB + timedelta(days=1))
    fresh = second.metered(since=FEB + timedelta(days=3))
    second.ran(fresh, FEB + timedelta(days=3), 30, seconds=1200)
    tenants = [first.tenant.pk, second.tenant.pk, idle.tenant.pk]

    together = invoice_builder.build_drafts_of(tenants, FEB)

    def shape(drafts):
        return {
            currency: (spec.rollup_digest, [line.key() for line in spec.lines])
            for currency, spec in drafts.items()
        }

    for tenant_id in tenants:
        assert shape(together[tenant_id]) == shape(invoice_builder.build_drafts(tenant_id, FEB))
    assert set(together[first.tenant.pk]) == {"EUR", "USD"}
    assert LineKind.LATE_USAGE in [line.kind for line in together[first.tenant.pk]["EUR"].lines]
    assert together[idle.tenant.pk] == {}
    result = invoicing.close_billing_period(FEB)
    assert len(result.created) == 3
    assert AuditEvent.objects.filter(action="invoice_drafted").count() == 4  # with January's


def test_a_refunded_metered_entitlement_is_billed_up_to_its_refund_and_not_after(
    customer, time_machine
):
    """Finance's full refund revokes the entitlement and ends its validity then: the month of
    the refund still bills its fee and the hours run before, the months after nothing (it
    was billed its monthly fee every month after, forever)."""
    entitlement = customer.metered()
    customer.ran(entitlement, JAN, 2)
    time_machine.move_to(JAN + timedelta(days=20), tick=False)
    orders.refund_order(entitlement.order)
    entitlement.refresh_from_db()
    assert entitlement.status == "revoked"
    assert entitlement.valid_until == JAN + timedelta(days=20)
    customer.ran(entitlement, FEB, 1)  # a device that kept running is not billed for it

    (jan_id,) = invoicing.close_billing_period(JAN).created
    assert lines(Invoice.objects.get(pk=jan_id)) == [
        (LineKind.FLAT_FEE, 1000),
        (LineKind.USAGE, 200),
    ]
    assert invoicing.close_billing_period(FEB).created == []
    assert invoicing.close_billing_period(MAR).created == []


def test_hours_after_a_later_entitlement_is_refunded_go_back_to_the_one_still_valid(
    customer, time_machine
):
    """The tenant held A (open-ended), bought B of the same agent on the 10th and had B
    refunded on the 20th. Each hour goes to the entitlement valid in it that started last: A
    before the 10th and again after the 20th, B between (the hours after B's refund were
    billed to nobody)."""
    first = customer.metered()
    second = customer.metered(since=JAN + timedelta(days=10), agent=first.agent, key="b")
    time_machine.move_to(JAN + timedelta(days=20, minutes=30), tick=False)
    orders.refund_order(second.order)
    for day in (2, 15, 25):
        customer.ran(first, JAN + timedelta(days=day), 1)

    (jan_id,) = invoicing.close_billing_period(JAN).created
    usage = Invoice.objects.get(pk=jan_id).lines.filter(kind=LineKind.USAGE)
    assert sorted(usage.values_list("entitlement_id", "usage_seconds")) == sorted(
        [(first.pk, 2 * 3600), (second.pk, 3600)]
    )
