"""A credit note of a paid invoice gives money back (billing.money_back). Paid by card: the
note's amount is refunded on the PaymentIntent that paid the invoice, once, even when the
processor was down and the beat job makes it later. Paid by transfer: the note owes it back
until finance records the transfer in the admin.

The defect this covers: a one-time order's VAT is charged on its month's invoice. Finance
refunded the order in full: the order's payment went back (49.00) and the credit note said
58.31 was given back, but the 9.31 VAT taken by the invoice's card charge was refunded
nowhere."""

from datetime import timedelta

import pytest

from billing import tasks
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Order
from tests.commerce.conftest import (  # noqa: F401 - a fixture used here
    make_plan,
    place_order,
    refund_in_admin,
    save_card,
    stripe_client,
)
from tests.dunning.conftest import GOOD, INVOICES, TOTAL, signed_in
from tests.dunning.test_payment_admin import record_offline
from tests.invoices.pdf_reading import pdf_text
from tests.invoicing.conftest import JAN, Customer, credited_in_full

pytestmark = pytest.mark.django_db

ORDER, VAT = 4900, 931  # 49.00 EUR, and its 19 % VAT charged on January's invoice


def refunded_of(payment_intent_id: str) -> int:
    """What localstripe says was refunded of the PaymentIntent's charge."""
    intent = stripe_client().v1.payment_intents.retrieve(payment_intent_id)
    charge = getattr(intent.latest_charge, "id", intent.latest_charge)
    return stripe_client().v1.charges.retrieve(charge).amount_refunded


@pytest.fixture
def ordered_in_january(payer, agent, make_plan):  # noqa: F811
    """A customer bought a one-time plan with its card in January (the API's order), and
    January's draft has it now: (customer, order)."""
    customer = payer(agent=agent)
    body = place_order(
        signed_in(customer), agent, make_plan("one_time", currency="EUR", amount=ORDER), "once"
    ).json()
    assert body["status"] == "completed", body
    Order.objects.filter(pk=body["id"]).update(completed_at=JAN + timedelta(days=10))
    from billing import invoicing

    invoicing.close_billing_period(JAN)  # January's draft, with the order now
    return customer, Order.objects.get(pk=body["id"])


@pytest.fixture
def order_on_paid_invoice(ordered_in_january, finalize):
    """``ordered_in_january``; January's invoice, finalized, charged its VAT (and the month's
    usage) on the card too."""
    customer, order = ordered_in_january
    invoice = finalize(customer.draft)
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_due == TOTAL + VAT
    return customer, order, invoice


def paid_back(finance, pk: int, reference: str) -> str:
    """Finance's *Record money paid back* on the invoice list for ``pk``, with the transfer's
    reference, as its form posts it: the list page with the action's messages."""
    chosen = {"action": "record_money_paid_back", "_selected_action": [pk], "apply": "1"}
    response = finance.post(INVOICES, {**chosen, "reference": reference}, follow=True)
    return response.content.decode()


def note_email(outbox, note) -> tuple[str, str]:
    """The credit note's email as its customer gets it: its text, and its PDF's."""
    (message,) = [m for m in outbox if note.number in m.subject]
    return message.body, pdf_text(message.attachments[0][1])


def test_refunding_an_invoiced_order_gives_its_vat_back_on_the_invoice_s_card_charge(
    order_on_paid_invoice, admin_session, django_capture_on_commit_callbacks, mailoutbox
):
    customer, order, invoice = order_on_paid_invoice
    finance, _ = admin_session("finance")

    with django_capture_on_commit_callbacks(execute=True):
        refund_in_admin(finance, order.pk)

    note = Invoice.objects.get(credit_of=invoice)
    assert note.total == -(ORDER + VAT)
    assert (refunded_of(order.payment_intent_id), refunded_of(invoice.payment_intent_id)) == (
        ORDER,
        VAT,
    )
    assert note.refund_amount == VAT and note.refunded_at is not None
    assert note.refund_reference.startswith("re_")
    event = AuditEvent.objects.get(action="credit_note_refunded")
    assert event.details | {"invoice": invoice.pk} == event.details
    assert (event.details["amount"], event.details["source"]) == (VAT, "card")
    shown = signed_in(customer).get(f"/api/v1/invoices/{note.pk}").json()
    assert (shown["refund_amount"], shown["refund_reference"]) == (VAT, note.refund_reference)
    told = f"9.31 EUR is refunded to the card that paid invoice {invoice.number}."
    body, pdf = note_email(mailoutbox, note)
    assert told in body and told in " ".join(pdf.split())


def test_finance_s_credit_note_of_a_card_paid_invoice_refunds_it(
    invoiced, admin_session, django_capture_on_commit_callbacks
):
    _, invoice = invoiced()
    assert invoice.status == InvoiceStatus.PAID
    finance, _ = admin_session("finance")

    with django_capture_on_commit_callbacks(execute=True):
        credited_in_full(finance, invoice)

    note = Invoice.objects.get(credit_of=invoice)
    assert (note.total, note.refund_amount) == (-TOTAL, TOTAL)
    assert refunded_of(invoice.payment_intent_id) == TOTAL
    # Credited in full, nothing more can be: no second note, no second refund.
    credited_in_full(finance, invoice)
    assert Invoice.objects.filter(credit_of=invoice).count() == 1
    assert refunded_of(invoice.payment_intent_id) == TOTAL


def test_a_refund_that_failed_is_made_by_the_beat_job_once(
    invoiced, admin_session, processor, clock, monkeypatch, django_capture_on_commit_callbacks
):
    _, invoice = invoiced()
    finance, _ = admin_session("finance")
    processor.down()
    monkeypatch.setattr(tasks.refund_credit_note, "max_retries", 0)

    with django_capture_on_commit_callbacks(execute=True):  # the task fails, and gives up
        credited_in_full(finance, invoice)

    note = Invoice.objects.get(credit_of=invoice)
    assert (note.refund_amount, note.refunded_at) == (TOTAL, None)
    owed = finance.get(INVOICES, {"money_back": "owed"}).content.decode()
    assert note.number in owed and f">{invoice.number}<" not in owed
    clock.shift(timedelta(hours=3))  # its task may still be retrying: left alone
    assert tasks.retry_credit_note_refunds.apply().get() == {"refunded": {}, "errors": {}}
    clock.shift(timedelta(hours=1, minutes=1))
    still_down = tasks.retry_credit_note_refunds.apply().get()
    assert "payment processor failed" in still_down["errors"][note.number]

    processor.up()
    clock.shift(timedelta(hours=1))
    made = tasks.retry_credit_note_refunds.apply().get()
    note.refresh_from_db()
    assert made == {"refunded": {note.number: note.refund_reference}, "errors": {}}
    assert tasks.retry_credit_note_refunds.apply().get() == {"refunded": {}, "errors": {}}
    assert refunded_of(invoice.payment_intent_id) == TOTAL
    assert AuditEvent.objects.filter(action="credit_note_refunded").count() == 1


def test_a_refund_whose_answer_was_lost_is_found_not_made_again(invoiced, clock, committed):
    """Stripe made the refund but its answer never arrived (the note still owes): a day
    later, past the idempotency key's life, the beat job finds it by the note's number."""
    _, invoice = invoiced()
    from billing import invoicing

    note = committed(invoicing.issue_credit_note, invoice)  # refunded on commit
    made = note.__class__.objects.get(pk=note.pk).refund_reference
    Invoice.objects.filter(pk=note.pk).update(refunded_at=None, refund_reference="")
    clock.shift(timedelta(days=2))

    assert tasks.retry_credit_note_refunds.apply().get()["refunded"] == {note.number: made}
    assert refunded_of(invoice.payment_intent_id) == TOTAL


def test_a_transfer_paid_invoice_s_note_is_owed_until_finance_records_it(
    invoiced, admin_session, django_capture_on_commit_callbacks, mailoutbox
):
    _, invoice = invoiced(card=None)
    finance, user = admin_session("finance")
    record_offline(finance, invoice)
    with django_capture_on_commit_callbacks(execute=True):
        credited_in_full(finance, invoice)
    note = Invoice.objects.get(credit_of=invoice)
    assert (note.refund_amount, note.refunded_at) == (TOTAL, None)
    body, _ = note_email(mailoutbox, note)
    assert "14.28 EUR is paid back to you by bank transfer." in body
    owed = AuditEvent.objects.get(action="credit_note_owed_back")
    assert (owed.details["credit_note"], owed.details["amount"]) == (note.number, TOTAL)

    asked = {"action": "record_money_paid_back", "_selected_action": [note.pk]}
    form = finance.post(INVOICES, asked).content.decode()
    assert f"{note.number}" in form and "gives back 14.28 EUR" in form
    refused = finance.post(INVOICES, {**asked, "apply": "1", "reference": " "}).content.decode()
    assert "This field is required" in refused
    done = paid_back(finance, note.pk, "SEPA back 42")
    assert f"{note.number}: paid back (SEPA back 42)." in done
    note.refresh_from_db()
    assert note.refund_reference == "SEPA back 42" and note.refunded_at is not None
    event = AuditEvent.objects.get(action="credit_note_refunded")
    assert (event.actor, event.details["source"]) == (user, "transfer")
    assert note.refunded_by == "transfer"
    again = paid_back(finance, note.pk, "again")
    assert "was paid back already (SEPA back 42)" in again
    # An invoice owes nothing back: refused, named.
    other = paid_back(finance, invoice.pk, "x")
    assert f"{invoice.number}" in other and "It owes no money back." in other


def test_an_unpaid_invoice_s_note_owes_nothing_back(invoiced, committed):
    from billing import invoicing

    _, invoice = invoiced(card=None)
    assert invoice.is_unpaid
    note = committed(invoicing.issue_credit_note, invoice)
    assert (note.refund_amount, note.kind) == (0, InvoiceKind.CREDIT_NOTE)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_due == 0


@pytest.fixture
def card_paid_invoice(clock, member_client, vendor_tenant, stripe_on, finalize):
    """make(currency, adjustments) -> January's invoice (10.00 fee, 2 agent-hours at 1.00, 19 %
    VAT, and finance's ``adjustments``), finalized and paid by card."""
    from billing import invoicing

    def make(currency: str, adjustments: list[int]) -> Invoice:
        api, membership = member_client("admin")
        customer = Customer(membership.tenant, vendor_tenant)
        customer.account()
        save_card(api)
        customer.ran(customer.metered(currency=currency), JAN, 2)
        (pk,) = invoicing.close_billing_period(JAN).created
        draft = Invoice.objects.get(pk=pk)
        for n, amount in enumerate(adjustments):
            invoicing.add_adjustment_line(draft, description=f"services {n}", amount=amount)
        return finalize(draft)

    return make


def credit_each_line(finance, invoice, capture) -> list[Invoice]:
    """Finance credits the invoice line by line on its change page."""
    for line in invoice.lines.order_by("position"):
        with capture(execute=True):
            finance.post(f"{INVOICES}{invoice.pk}/credit/", {"line": [line.pk], "reason": "x"})
    return list(Invoice.objects.filter(credit_of=invoice).order_by("pk"))


@pytest.mark.parametrize(
    ("currency", "adjustments", "step"), [("EUR", [2, 2], 1), ("KWD", [5], 10)]
)
def test_crediting_line_by_line_gives_back_exactly_what_the_card_took(
    card_paid_invoice,
    admin_session,
    django_capture_on_commit_callbacks,
    currency,
    adjustments,
    step,
):
    """Each note's VAT is rounded on its own lines: without the last note taking what is
    left, EUR notes gave back 14.32 of 14.33; and a card refund in a three-decimal currency
    must be a multiple of 10 fils, as a charge is (Stripe refuses others)."""
    invoice = card_paid_invoice(currency, adjustments)
    assert invoice.status == InvoiceStatus.PAID
    finance, _ = admin_session("finance")

    notes = credit_each_line(finance, invoice, django_capture_on_commit_callbacks)

    assert len(notes) == invoice.lines.count()
    assert all(note.refund_amount % step == 0 and note.refunded_at for note in notes)
    assert sum(note.refund_amount for note in notes) == invoice.amount_due
    assert refunded_of(invoice.payment_intent_id) == invoice.amount_due


def test_a_whole_invoice_credit_leaves_an_order_to_its_refund(
    order_on_paid_invoice, admin_session, django_capture_on_commit_callbacks
):
    """A note crediting an order's line said its price was given back while nobody refunded
    it, and the entitlement stayed on: the order is refunded instead, which credits it."""
    _, order, invoice = order_on_paid_invoice
    finance, _ = admin_session("finance")

    whole = credited_in_full(finance, invoice).content.decode()

    assert f"Order {order.pk} was paid at checkout: refund it" in whole
    assert not Invoice.objects.filter(credit_of=invoice).exists()
    others = invoice.lines.exclude(order=order).values_list("pk", flat=True)
    with django_capture_on_commit_callbacks(execute=True):
        finance.post(f"{INVOICES}{invoice.pk}/credit/", {"line": list(others), "reason": "x"})
        refund_in_admin(finance, order.pk)
    assert refunded_of(invoice.payment_intent_id) + refunded_of(order.payment_intent_id) == (
        invoice.amount_due + ORDER
    )


def test_a_transfer_is_not_recorded_for_a_card_refund_made_after_all(
    invoiced, admin_session, committed
):
    """Stripe made the card refund but its answer was lost: finance, asked to pay it back by
    transfer, is told the card refund was made (now recorded), and sends nothing twice."""
    _, invoice = invoiced()
    from billing import invoicing

    note = committed(invoicing.issue_credit_note, invoice)
    made = Invoice.objects.get(pk=note.pk).refund_reference
    Invoice.objects.filter(pk=note.pk).update(refunded_at=None, refund_reference="", refunded_by="")
    finance, _ = admin_session("finance")

    page = paid_back(finance, note.pk, "SEPA back 9")

    assert f"Its card refund {made} was made after all" in page and "send no transfer" in page
    note.refresh_from_db()
    assert (note.refund_reference, note.refunded_by) == (made, "card")


def test_a_card_refund_landing_after_a_recorded_transfer_is_flagged(
    invoiced, committed, monkeypatch
):
    """Finance recorded a transfer while a card refund was on its way (only a note whose card
    refund Stripe refused takes a transfer, so two attempts must have crossed): both went
    back, and the audit log says so for finance to recover one."""
    from billing import invoicing, money_back, payments

    _, invoice = invoiced()
    real = payments.refund

    def refund_while_finance_records(*args, **kwargs):
        made = real(*args, **kwargs)
        note = Invoice.objects.get(credit_of=invoice)
        # As if another attempt had been refused for good meanwhile, leaving it to finance.
        Invoice.objects.filter(pk=note.pk).update(refund_failure="refused")
        money_back.record_money_paid_back(note, reference="SEPA back 7")
        return made

    monkeypatch.setattr(payments, "refund_made", lambda *args, **kwargs: None)
    monkeypatch.setattr(payments, "refund", refund_while_finance_records)
    committed(invoicing.issue_credit_note, invoice)

    flagged = AuditEvent.objects.get(action="credit_note_paid_back_twice")
    assert flagged.details["recorded"] == "SEPA back 7"
    assert flagged.details["also"].startswith("re_")


def gone(invoice) -> None:
    """Its card payment is one Stripe no longer knows (404): a refund of it is refused for
    good, as a disputed charge or one refunded in Stripe's dashboard is."""
    Invoice.objects.filter(pk=invoice.pk).update(payment_intent_id="pi_gone")


def test_a_card_refund_stripe_refuses_is_left_to_a_transfer(
    invoiced, admin_session, committed, clock
):
    _, invoice = invoiced()
    gone(invoice)
    from billing import invoicing

    note = committed(invoicing.issue_credit_note, invoice)

    note.refresh_from_db()
    assert note.refunded_at is None and "it refused the request" in note.refund_failure
    refused = AuditEvent.objects.get(action="credit_note_refund_refused")
    assert refused.details["credit_note"] == note.number
    clock.shift(timedelta(hours=5))
    assert tasks.retry_credit_note_refunds.apply().get() == {"refunded": {}, "errors": {}}
    finance, _ = admin_session("finance")
    paid_back(finance, note.pk, "SEPA back 5")
    note.refresh_from_db()
    assert (note.refund_reference, note.refunded_by) == ("SEPA back 5", "transfer")


def test_a_transfer_is_refused_while_the_card_refund_is_being_made(invoiced, admin_session):
    """Sent meanwhile, a transfer and the card refund (its task, the hourly job) would both
    pay the note back."""
    _, invoice = invoiced()
    from billing import invoicing

    note = invoicing.issue_credit_note(invoice)  # its refund task not run yet
    finance, _ = admin_session("finance")

    page = paid_back(finance, note.pk, "SEPA back 6")

    assert f"Its money goes back on the card that paid {invoice.number}" in page
    note.refresh_from_db()
    assert (note.refunded_at, note.refund_reference) == (None, "")


def test_the_note_says_how_its_money_went_back(invoiced, committed):
    customer, invoice = invoiced()
    gone(invoice)
    from billing import invoicing, money_back

    note = committed(invoicing.issue_credit_note, invoice)  # its card refund refused
    money_back.record_money_paid_back(note, reference="SEPA back 42")

    pdf = signed_in(customer).get(f"/api/v1/invoices/{note.pk}/pdf", HTTP_ACCEPT="application/pdf")

    text = " ".join(pdf_text(pdf.content).split())
    assert "14.28 EUR is paid back to you by bank transfer." in text
    assert "refunded to the card" not in text


@pytest.mark.parametrize("paid_by", ["card", "nobody"])
def test_a_note_says_what_becomes_of_its_credit_not_that_it_was_paid(
    invoiced, committed, mailoutbox, paid_by
):
    """Nobody pays a credit note: its PDF has no "Paid" row, no amount or date due and no
    "Paid \N{EN DASH} nothing is due"; it says where its credit goes, as its email does."""
    from billing import invoicing

    _, invoice = invoiced(card=GOOD if paid_by == "card" else None)
    note = committed(invoicing.issue_credit_note, invoice)

    body, pdf = note_email(mailoutbox, note)
    text = " ".join(pdf.split())
    told = {
        "card": f"14.28 EUR is refunded to the card that paid invoice {invoice.number}.",
        "nobody": f"14.28 EUR is taken off what invoice {invoice.number} asks.",
    }[paid_by]
    assert told in text and told in body
    for wrong in ("Paid", "Amount due", "nothing is due", "Due "):
        assert wrong not in text, (wrong, text)


def test_a_note_of_an_unpaid_invoice_says_what_it_takes_off_what_the_invoice_asks(
    ordered_in_january, admin_session, committed, mailoutbox
):
    """Refunding an order on an open invoice credits its line with its VAT (58.31), but the
    order's 49.00 went back on the order's own payment and was never asked by the invoice:
    the note takes 9.31 off what the invoice asks, as its amount due says. Its PDF and email
    said 58.31."""
    from billing import invoicing

    customer, order = ordered_in_january
    invoice = invoicing.finalize_invoice(customer.draft)  # its charge, queued, never runs
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.OPEN, TOTAL + VAT)
    finance, _ = admin_session("finance")

    committed(refund_in_admin, finance, order.pk)

    note = Invoice.objects.get(credit_of=invoice)
    invoice.refresh_from_db()
    assert (note.total, invoice.credited_amount, invoice.amount_due) == (-ORDER - VAT, VAT, TOTAL)
    told = f"9.31 EUR is taken off what invoice {invoice.number} asks."
    body, pdf = note_email(mailoutbox, note)
    assert told in body and told in " ".join(pdf.split())


def test_which_notes_owe_a_card_refund_is_one_rule_in_python_and_in_a_query(
    invoiced, admin_session, committed
):
    """``Invoice.owes_card_refund`` (the refund task's question) and ``owing_card_refunds()``
    (the beat job's net) name the same notes: of each way a note can stand, only the card-paid
    invoice's note not refunded yet owes one."""
    from billing import invoicing

    def note_of(invoice, *, commit=True) -> Invoice:
        issue = invoicing.issue_credit_note
        note = committed(issue, invoice) if commit else issue(invoice)
        return Invoice.objects.select_related("credit_of").get(pk=note.pk)

    finance, _ = admin_session("finance")
    _, by_transfer = invoiced(card=None)
    record_offline(finance, by_transfer)
    _, unpaid = invoiced(card=None)
    _, refused = invoiced()
    gone(refused)
    notes = {
        "owing": note_of(invoiced()[1], commit=False),  # its refund task not run yet
        "refunded": note_of(invoiced()[1]),
        "refused for good": note_of(refused),
        "paid by transfer": note_of(by_transfer),
        "nothing to give back": note_of(unpaid),
    }

    in_python = {what for what, note in notes.items() if note.owes_card_refund}
    in_a_query = set(Invoice.objects.owing_card_refunds().values_list("pk", flat=True))
    assert in_python == {"owing"}
    assert in_a_query == {notes["owing"].pk}
    owes_back = {what for what, note in notes.items() if note.owes_money_back}
    assert owes_back == {"owing", "refused for good", "paid by transfer"}  # by card or transfer
    assert set(Invoice.objects.owing_money_back().values_list("pk", flat=True)) == {
        notes[what].pk for what in owes_back
    }
