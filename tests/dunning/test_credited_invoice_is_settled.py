"""A credit note of an unpaid invoice gives back part of what it asks: the amount due is the
total less its prepaid lines less what credit notes gave back, a charge takes only the rest,
and an invoice credited in full is settled (paid, audited ``source: credit_note``): the
dunning stops charging it and an uncollectible one gives the entitlements back."""

import pytest

from billing import invoicing, tasks
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement
from marketplace.pricing import format_amount
from tests.dunning.conftest import (
    DECLINED,
    MONEY_TO_GIVE_BACK,
    NEEDS_3DS,
    TOTAL,
    credit_fee,
    days,
    intents_of,
    pay_with_new_card,
    rows_of,
    signed_in,
)
from tests.dunning.test_invoice_payment_webhooks import authenticate, deliver, intent_event
from tests.dunning.test_payment_admin import INVOICES, record_offline
from tests.invoices.pdf_reading import embedded_xml, pdf_text, summation
from tests.invoicing.conftest import credited_in_full

pytestmark = pytest.mark.django_db

FEE_CREDIT = 1190  # the 10.00 monthly fee plus its 19 % VAT


def test_an_uncollectible_invoice_credited_in_full_is_settled_and_the_tenant_active_again(
    uncollectible, admin_session
):
    customer, invoice = uncollectible
    client, user = admin_session("finance")
    page = credited_in_full(client, invoice)
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert f": credit note {note.number}." in page.content.decode()
    assert note.total == -TOTAL

    shown = signed_in(customer).get(f"/api/v1/invoices/{invoice.pk}").json()
    assert shown["status"] == "paid"
    assert (shown["credited_amount"], shown["amount_due"], shown["amount_remaining"]) == (
        TOTAL,
        0,
        0,
    )
    assert shown["amount_paid"] == 0  # nothing was paid: it was given back
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"
    settled = AuditEvent.objects.get(action="invoice_paid")
    assert settled.details["source"] == "credit_note"
    assert settled.details["reference"] == f"credit note {note.number}"
    assert settled.actor == user
    assert AuditEvent.objects.filter(action="entitlement_reactivated").count() == 1
    assert len(intents_of(customer.tenant)) == 1  # the declined first charge only


def test_the_dunning_does_not_charge_an_invoice_credited_in_full(
    invoiced, admin_session, committed, clock
):
    customer, invoice = invoiced(card=DECLINED)
    assert (invoice.status, invoice.next_payment_attempt_at) == (
        InvoiceStatus.PAYMENT_FAILED,
        days(1),
    )
    client, _ = admin_session("finance")
    credited_in_full(client, invoice)

    clock.move_to(days(30))
    run = committed(lambda: tasks.retry_due_invoice_payments.apply().get())
    assert run == {"attempted": {}, "errors": {}}
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_attempts) == (InvoiceStatus.PAID, 1)
    assert invoice.next_payment_attempt_at is None
    assert len(intents_of(customer.tenant)) == 1


def test_a_partly_credited_invoice_is_charged_only_the_rest(
    invoiced, admin_session, committed, clock
):
    customer, invoice = invoiced(card=DECLINED)
    client, _ = admin_session("finance")
    credit_fee(client, invoice)
    shown = signed_in(customer).get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["status"], shown["amount_due"]) == ("payment_failed", TOTAL - FEE_CREDIT)
    assert shown["credited_amount"] == FEE_CREDIT

    clock.move_to(days(1))
    api = pay_with_new_card(customer, committed)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    charged = intents_of(customer.tenant)[-1]
    assert (charged.status, charged.amount) == ("succeeded", TOTAL - FEE_CREDIT)
    shown = api.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["amount_paid"], shown["amount_remaining"]) == (TOTAL - FEE_CREDIT, 0)
    paid = AuditEvent.objects.get(action="invoice_paid")
    assert (paid.details["source"], paid.details["amount"]) == ("card", TOTAL - FEE_CREDIT)


def downloaded(api, invoice) -> tuple[str, dict]:
    """The invoice's PDF as its tenant downloads it: its text, and the amounts its XML states."""
    response = api.get(f"/api/v1/invoices/{invoice.pk}/pdf")
    assert response.status_code == 200, response.content
    pdf = b"".join(response.streaming_content) if response.streaming else response.content
    _, xml = embedded_xml(pdf)
    names = ("GrandTotalAmount", "TotalPrepaidAmount", "DuePayableAmount")
    return " ".join(pdf_text(pdf).split()), {name: summation(xml, name) for name in names}


def test_the_document_of_an_invoice_credited_in_full_says_it_was_credited_not_paid(
    uncollectible, admin_session
):
    customer, invoice = uncollectible
    credited_in_full(admin_session("finance")[0], invoice)
    text, xml = downloaded(signed_in(customer), invoice)
    assert "Total 14.28 EUR Credited by credit notes 14.28 EUR Amount due 0.00 EUR" in text
    assert "Credited in full \N{EN DASH} nothing is due." in text
    assert "Paid" not in text.replace("Paid in advance", "")
    # EN 16931 has one place for what no longer needs paying (BT-113); BR-CO-16 holds.
    assert xml == {
        "GrandTotalAmount": "14.28",
        "TotalPrepaidAmount": "14.28",
        "DuePayableAmount": "0.00",
    }


def test_the_document_of_a_partly_credited_invoice_says_what_was_credited_and_what_paid(
    invoiced, admin_session, committed, clock
):
    customer, invoice = invoiced(card=DECLINED)
    credit_fee(admin_session("finance")[0], invoice)
    text, xml = downloaded(signed_in(customer), invoice)
    assert "Total 14.28 EUR Credited by credit notes 11.90 EUR Amount due 2.38 EUR" in text
    assert xml["TotalPrepaidAmount"] == "11.90" and xml["DuePayableAmount"] == "2.38"

    clock.move_to(days(1))
    api = pay_with_new_card(customer, committed)
    text, xml = downloaded(api, invoice)
    shown = api.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (shown["amount_paid"], shown["credited_amount"]) == (238, FEE_CREDIT)
    assert "Credited by credit notes 11.90 EUR Paid 2.38 EUR Amount due 0.00 EUR" in text
    assert "Paid \N{EN DASH} nothing is due." in text
    assert xml["TotalPrepaidAmount"] == "14.28" and xml["DuePayableAmount"] == "0.00"


def credited_before_0014(invoice) -> Invoice:
    """What migration 0014 leaves of an invoice credited in full before it: its earlier
    credit notes' amount recorded, nothing due, its status as it was."""
    invoicing.issue_credit_note(invoice, reason="credited before 0014")
    Invoice.objects.filter(pk=invoice.pk).update(
        status=invoice.status,
        paid_at=None,
        payment_reference="",
        next_payment_attempt_at=invoice.next_payment_attempt_at,
        payment_failure_code=invoice.payment_failure_code,
    )
    invoice.refresh_from_db()
    assert invoice.is_unpaid and invoice.amount_due == 0
    return invoice


def test_the_dunning_settles_an_invoice_credited_in_full_before_0014(invoiced, committed, clock):
    customer, invoice = invoiced(card=DECLINED)
    invoice = credited_before_0014(invoice)
    (note,) = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE)

    clock.move_to(days(1))
    committed(lambda: tasks.retry_due_invoice_payments.apply().get())

    invoice.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt_at) == (InvoiceStatus.PAID, None)
    assert invoice.payment_reference == f"credit note {note.number}"
    assert len(intents_of(customer.tenant)) == 1  # the declined first charge only


def test_a_new_card_settles_an_open_invoice_credited_in_full_before_0014(invoiced, committed):
    """No card at finalize, so no dunning; the new card's attempt settles it, as the
    dunning's does (it returned at once: the invoice stayed open for good)."""
    customer, invoice = invoiced(card=None)
    invoice = credited_before_0014(invoice)
    (note,) = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE)

    pay_with_new_card(customer, committed)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_reference) == (
        InvoiceStatus.PAID,
        f"credit note {note.number}",
    )
    assert intents_of(customer.tenant) == []  # nothing charged
    # (credited_before_0014's note audited one too, as the note's issue does now)
    paid = AuditEvent.objects.filter(action="invoice_paid").order_by("pk").last()
    assert paid.details["source"] == "credit_note"


def test_finance_settles_an_uncollectible_one_credited_in_full_before_0014(
    uncollectible, admin_session
):
    customer, invoice = uncollectible
    credited_before_0014(invoice)
    client, _ = admin_session("finance")

    record_offline(client, invoice, reference="credit note CN-2026-000001")

    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_reference) == (
        InvoiceStatus.PAID,
        "credit note CN-2026-000001",
    )
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "active"


def test_a_charge_made_before_a_credit_is_audited_at_what_it_took(
    invoiced, admin_session, committed, api
):
    """The first charge awaited the card holder (3-D Secure) when finance credited the fee;
    the holder then approved it: the invoice is paid, audited at what the intent took, the
    amount due beside it, and finance is told what to give back (``invoice_overpaid``)."""
    _, invoice = invoiced(card=NEEDS_3DS)
    intent = invoice.payment_intent_id
    client, _ = admin_session("finance")
    credit_fee(client, invoice)
    authenticate(intent)

    deliver(api, committed, intent_event("evt_3ds_ok", "payment_intent.succeeded", intent))

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    paid = AuditEvent.objects.get(action="invoice_paid")
    assert (paid.details["amount"], paid.details["amount_due"]) == (TOTAL, TOTAL - FEE_CREDIT)
    overpaid = AuditEvent.objects.get(action="invoice_overpaid")
    assert overpaid.details | {"payment_intent": intent, "excess": FEE_CREDIT} == overpaid.details
    # A redelivery of the success tells finance nothing more.
    deliver(api, committed, intent_event("evt_3ds_ok_again", "payment_intent.succeeded", intent))
    assert AuditEvent.objects.filter(action="invoice_overpaid").count() == 1
    (row,) = rows_of(client.get(MONEY_TO_GIVE_BACK).content.decode())
    assert row[1:] == [
        "invoice overpaid",
        str(invoice.tenant),
        f"invoice {invoice.number}",
        format_amount(FEE_CREDIT, invoice.currency),
        intent,
        "Refund the excess on its PaymentIntent (Stripe).",
        "-",
    ]


def test_the_email_of_an_invoice_credited_in_full_says_it_was_credited_not_paid(
    uncollectible, admin_session, committed, mailoutbox
):
    """The email names the settlement as the PDF does (one wording for both): resent after
    the credit note, it says credited, not paid."""
    _, invoice = uncollectible
    finance, _ = admin_session("finance")
    credited_in_full(finance, invoice)
    mailoutbox.clear()
    resend = {"action": "resend_email", "_selected_action": [invoice.pk], "post": "yes"}
    page = committed(finance.post, INVOICES, resend, follow=True)
    assert "email queued to ap@acme.example" in page.content.decode()
    (message,) = mailoutbox
    assert message.subject.startswith(f"Invoice {invoice.number} from ")
    body = message.body
    assert "Credited by credit notes: 14.28 EUR" in body
    assert "Credited in full \N{EN DASH} nothing is due." in body
    assert "paid" not in body.lower()
