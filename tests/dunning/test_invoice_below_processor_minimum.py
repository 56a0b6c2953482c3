"""An invoice whose amount due is below the smallest card charge (Stripe refuses it as
``amount_too_small``, as localstripe does here) is not charged: it stays open with the code
``amount_below_minimum``, the tenant is told once to pay it by bank transfer, nothing retries
it or suspends the tenant for it (also one the dunning had failed before this check),
finance's retry is refused with that code, and a recorded transfer pays it (as a credit note
of all of it settles it)."""

import pytest
from celery.signals import task_postrun

from billing import collection, invoicing, payments, tasks
from billing.charge_minimums import minimum_charge
from billing.errors import AmountBelowMinimum
from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from tests.dunning.conftest import GOOD, days, intents_of, save_card, signed_in, stripe_client
from tests.dunning.test_payment_admin import INVOICES, record_offline
from tests.invoicing.conftest import JAN, Customer, credited_in_full

pytestmark = pytest.mark.django_db

PENNIES = {"scheme": "per_unit", "unit_amount": 5}  # EUR 0.05 an agent-hour, no fee
SMALL_TOTAL = 12  # 2 h x 0.05 = 0.10, plus 19 % VAT: 0.12 EUR


def two_hours_in_january(member_client, vendor_tenant, terms: dict):
    """A tenant with a card and two agent-hours in January on ``terms``: (customer, draft)."""
    api, membership = member_client("admin")
    customer = Customer(membership.tenant, vendor_tenant)
    customer.api, customer.user = api, membership.user
    customer.account()
    save_card(api, GOOD)
    customer.entitlement = customer.metered(terms=terms)
    customer.ran(customer.entitlement, JAN, 2)
    (pk,) = invoicing.close_billing_period(JAN).created
    return customer, Invoice.objects.get(pk=pk)


@pytest.fixture
def small_draft(clock, member_client, vendor_tenant, stripe_on):
    """A tenant with a card whose January comes to EUR 0.12, still a draft."""
    return two_hours_in_january(member_client, vendor_tenant, PENNIES)


@pytest.fixture
def small_invoice(small_draft, finalize):
    """The EUR 0.12 January finalized (its charge queued)."""
    customer, draft = small_draft
    return customer, finalize(draft)


@pytest.fixture
def task_outcomes():
    """What each Celery task returned, by task name, in the order they ran."""
    ran: dict[str, list] = {}

    def record(sender=None, retval=None, **kwargs):
        ran.setdefault(sender.name, []).append(retval)

    task_postrun.connect(record, weak=False)
    yield ran
    task_postrun.disconnect(record)


def test_stripe_refuses_a_charge_below_its_minimum(small_invoice):
    """What collection must not ask for: localstripe answers as Stripe does, a refusal that
    spends the attempt's key (a retry of the same amount gets it again)."""
    import stripe

    _, invoice = small_invoice
    assert invoice.amount_due == SMALL_TOTAL < minimum_charge("EUR") == 50
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client().v1.payment_intents.create(
            params={"amount": SMALL_TOTAL, "currency": "eur", "confirm": False}
        )
    assert (refused.value.http_status, refused.value.code) == (400, "amount_too_small")


def assert_left_open_and_told(customer, invoice, notices, *, code: str, why: str, subject: str):
    """No card charge of ``invoice`` was tried (Stripe never asked): it stays open with
    ``code`` and ``why``, the tenant's API shows them, one notice (``subject``) asks the
    billing contacts for a bank transfer, and the audit says it was not attempted."""
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.OPEN, 0)
    assert (invoice.payment_intent_id, invoice.payment_failure_code) == ("", code)
    assert why in invoice.payment_failure_detail
    assert intents_of(customer.tenant) == []
    shown = signed_in(customer).get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["status"], shown["payment_failure_code"]) == ("open", code)
    (mail,) = notices
    assert mail.subject == f"Invoice {invoice.number}: {subject}"
    assert f"bank transfer quoting {invoice.number}" in mail.body
    not_attempted = AuditEvent.objects.get(action="invoice_payment_not_attempted")
    assert not_attempted.details["code"] == code


def test_an_invoice_below_the_card_minimum_stays_open_and_the_tenant_is_told_once(
    small_invoice, clock, notices, committed, task_outcomes
):
    customer, invoice = small_invoice
    assert_left_open_and_told(
        customer,
        invoice,
        notices,
        code="amount_below_minimum",
        why="0.12 EUR is below the card processor's minimum charge of 0.50 EUR",
        subject="too small to charge to a card",
    )
    assert "0.12 EUR" in notices[0].body

    # Nothing charges it later: the task again, the first-charge net, the dunning, a new card.
    assert tasks.collect_invoice_payment(invoice.pk) == "amount_below_minimum"
    clock.move_to(days(30))
    assert collection.collect_missed_first_charges().attempted == {}
    assert collection.retry_due_invoice_payments().attempted == {}
    api = signed_in(customer)
    card = committed(save_card, api, GOOD)  # a second card: not the default yet
    made_default = committed(api.post, f"/api/v1/billing/payment-methods/{card['id']}/default")
    assert made_default.status_code == 200
    assert task_outcomes[tasks.collect_with_new_card.name] == ["amount_below_minimum"]
    assert not AuditEvent.objects.filter(action="invoice_payment_on_new_card").exists()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.OPEN, 0)
    assert intents_of(customer.tenant) == [] and len(notices) == 1
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"


def test_finance_retry_is_refused_with_the_code_and_a_transfer_pays_it(
    small_invoice, admin_session
):
    customer, invoice = small_invoice
    with pytest.raises(AmountBelowMinimum) as refused:
        collection.retry_invoice_payment(invoice)
    assert (refused.value.status, refused.value.code) == (409, "amount_below_minimum")

    client, _ = admin_session("finance")
    response = client.post(
        INVOICES, {"action": "retry_payment", "_selected_action": [invoice.pk]}, follow=True
    )
    assert "below the card processor&#x27;s minimum charge" in response.content.decode()
    assert intents_of(customer.tenant) == []
    done = record_offline(client, invoice)
    assert f"{invoice.number} recorded as paid." in done.content.decode()
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID


def test_a_credit_note_in_full_settles_it_as_finance_is_told(small_invoice, admin_session):
    """Too small to charge, the invoice is paid by transfer or written off by a credit note:
    the refusal says both, and crediting it in full settles it (nothing is due any more)."""
    _, invoice = small_invoice
    with pytest.raises(AmountBelowMinimum) as refused:
        collection.retry_invoice_payment(invoice)
    assert refused.value.detail.endswith("Record the bank transfer that pays it, or credit it.")
    client, _ = admin_session("finance")
    credited_in_full(client, invoice)
    invoice.refresh_from_db()
    (note,) = invoice.credit_notes.all()
    assert note.total == -SMALL_TOTAL
    assert (invoice.status, invoice.amount_due, invoice.amount_remaining) == (
        InvoiceStatus.PAID,
        0,
        0,
    )
    assert invoice.payment_reference == f"credit note {note.number}"


def test_an_invoice_the_dunning_failed_below_the_minimum_before_the_check_is_left_alone(
    small_draft, finalize, committed, clock, notices, monkeypatch
):
    """Failed into the dunning before collection knew the minimum (Stripe refused the charge
    as amount_too_small): the next retry run, as the worker runs it, takes it out of the
    dunning instead of picking it again on every run."""
    customer, draft = small_draft
    with monkeypatch.context() as before_the_check:
        before_the_check.setattr(payments, "minimum_charge", lambda currency: 0)
        invoice = finalize(draft)
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.PAYMENT_FAILED, 1)
    assert invoice.next_payment_attempt_at is not None
    assert invoice.payment_failure_code == "payment_processor_error"
    assert "Amount must be at least 50 eur" in invoice.payment_failure_detail

    def retry_run():
        return committed(lambda: tasks.retry_due_invoice_payments.apply().get())

    clock.move_to(days(30))
    assert retry_run() == {"attempted": {invoice.number: "amount_below_minimum"}, "errors": {}}
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.PAYMENT_FAILED, 1)
    assert invoice.next_payment_attempt_at is None
    assert invoice.payment_failure_code == "amount_below_minimum"
    assert [mail.subject for mail in notices][-1] == (
        f"Invoice {invoice.number}: too small to charge to a card"
    )
    told = len(notices)

    clock.move_to(days(60))
    assert retry_run() == {"attempted": {}, "errors": {}}
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.PAYMENT_FAILED, 1)
    assert len(notices) == told and intents_of(customer.tenant) == []
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"
