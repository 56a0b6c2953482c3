"""Finance works invoices in the admin (TOTP sign-in): filters, lines, finalize now, an
adjustment on a draft, void, credit notes for chosen lines; each audited. Other staff may
look at nothing here."""

import re
from datetime import UTC, date, datetime, timedelta

import lxml.html
import pytest
import time_machine

from billing import collection, finance_charts, invoicing, payment_notices, tasks
from billing.invoice_documents import invoice_document
from billing.models import (
    BillingAccount,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LineKind,
    past_due,
)
from edgeplug.audit.models import AuditEvent
from edgeplug.mail import DeliveryDeferred, DeliveryRefused
from marketplace.pricing import format_amount
from tests.invoices.conftest import smtp_inbox  # noqa: F401 - the loopback SMTP server
from tests.invoicing.conftest import FEB, JAN, adjust_in_admin, credited_in_full
from tests.network import refusing_port

URL = "/admin/billing/invoice/"


@pytest.fixture
def finance(admin_session):
    return admin_session("finance")


def test_finance_lists_and_filters_invoices(finance, draft, make_customer):
    client, _ = finance
    other = make_customer()
    other.ran(other.metered(), FEB, 1)
    invoicing.close_billing_period(FEB)
    page = client.get(URL)
    assert page.status_code == 200
    assert page.context["cl"].result_count == 3  # both tenants in February, one in January
    jan = client.get(URL, {"period": "2026-01", "status": "draft", "currency": "EUR"})
    assert [i.pk for i in jan.context["cl"].result_list] == [draft.pk]
    by_tenant = client.get(URL, {"tenant__id__exact": other.tenant.pk})
    assert by_tenant.context["cl"].result_count == 1


def test_a_month_without_invoices_is_shown_chosen_not_all(finance, draft):
    """The finance pages link a month's invoices; for a month with none the list showed "All"
    chosen over 0 invoices, which reads as no invoices at all."""
    client, _ = finance
    page = client.get(URL, {"period": "2025-10"})
    assert page.context["cl"].result_count == 0
    [period] = [f for f in page.context["cl"].filter_specs if f.title == "period"]
    chosen = [c["display"] for c in period.choices(page.context["cl"]) if c["selected"]]
    assert chosen == ["2025-10 (no invoices)"]


def test_finance_adjusts_then_finalizes_from_the_change_page(finance, draft):
    client, user = finance
    page = client.get(f"{URL}{draft.pk}/change/")
    assert page.status_code == 200
    assert b'id="adjust-form"' in page.content and b'id="finalize-form"' in page.content
    # One click, as the change page's forms are: it says what the click does, for good.
    assert b"charged to the tenant's saved card. It cannot be undone" in page.content
    assert b"agent-hours" in page.content  # the lines, read-only

    added = adjust_in_admin(client, draft, "Onboarding", "-2.50", follow=True)
    assert b"Adjustment of 2.50" in added.content or b"-2.50 EUR" in added.content
    line = draft.lines.get(kind=LineKind.ADJUSTMENT)
    assert (line.amount, line.created_by) == (-250, user)
    bad = adjust_in_admin(client, draft, "x", "1.234")
    assert bad.status_code == 302 and draft.lines.filter(kind=LineKind.ADJUSTMENT).count() == 1
    # A number too large for any amount was a 500 (decimal.Overflow while scaling it; typed
    # as 1e999999 then, which is now refused as not a number in the digits 0-9).
    for huge in ("9" * 40, "-" + "9" * 40):
        answer = adjust_in_admin(client, draft, "x", huge, follow=True)
        assert b"The amount is more than 10000000000.00 EUR" in answer.content
    assert draft.lines.filter(kind=LineKind.ADJUSTMENT).count() == 1
    unprintable = adjust_in_admin(client, draft, "Setup\x02", "1.00", follow=True)
    assert b"control character U+0002" in unprintable.content
    assert draft.lines.filter(kind=LineKind.ADJUSTMENT).count() == 1

    client.post(f"{URL}{draft.pk}/finalize/", follow=True)
    draft.refresh_from_db()
    assert draft.number.startswith("EP-") and draft.status == InvoiceStatus.OPEN
    event = AuditEvent.objects.get(action="invoice_finalized")
    assert event.actor == user
    assert AuditEvent.objects.get(action="invoice_adjusted").actor == user
    page = client.get(f"{URL}{draft.pk}/change/")
    assert b'id="adjust-form"' not in page.content and b'id="void-form"' in page.content


def test_the_invoice_page_writes_amounts_in_its_currency_not_in_minor_units(finance, draft):
    """Finance read "Total 15200" as fifteen thousand euros: every amount of the invoice and
    of its lines reads as the list's total column does."""
    client, _ = finance
    adjust_in_admin(client, draft, "Goodwill", "-12.34")
    draft.refresh_from_db()

    text = client.get(f"{URL}{draft.pk}/change/").content.decode()

    for field in ("subtotal", "tax", "total"):
        shown = f"{getattr(draft, field) / 100:.2f} EUR"
        assert f'<div class="readonly">{shown}</div>' in text, field
    assert "-12.34 EUR" in text
    # Each line's unit amount too (unrounded: a tier may cost a fraction of a cent an hour).
    units = re.findall(r'field-unit_amount_shown">\s*<p>([^<]*)</p>', text)
    assert units and all(re.fullmatch(r"-?\d+\.\d{2,} EUR", unit) for unit in units), units


def test_finalize_now_as_a_list_action_asks_first(finance, draft, make_customer):
    """Finalizing sends the invoice and charges the card, for good: the action lists each
    chosen draft, or why it cannot be finalized, and asks (before, it finalized at once)."""
    client, _ = finance
    no_account = make_customer()
    no_account.ran(no_account.metered(), JAN, 1)
    invoicing.close_billing_period(JAN)
    unready = Invoice.objects.get(tenant=no_account.tenant)
    chosen = {"action": "finalize_now", "_selected_action": [draft.pk, unready.pk]}
    # Finalize takes the account's tax terms as they are then: the page says that total.
    BillingAccount.objects.filter(tenant=draft.tenant).update(reverse_charge=True)
    finalized_total = format_amount(draft.subtotal, "EUR")
    assert finalized_total != format_amount(draft.total, "EUR")

    asked = client.post(URL, chosen)

    assert asked.status_code == 200 and asked.context["confirmed"] == [draft.pk]
    page = " ".join(asked.content.decode().split())
    assert finalized_total in page and "It cannot be undone" in page
    assert "no: " in page and "has no billing account" in page
    assert "Confirm: finalize 1 invoice" in page
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT and not AuditEvent.objects.filter(
        action="invoice_finalized"
    )

    done = client.post(URL, {**chosen, "_selected_action": [draft.pk], "post": "yes"}, follow=True)

    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.OPEN
    assert format_amount(draft.total, "EUR") == finalized_total
    assert [str(m) for m in done.context["messages"]] == [f"Finalized as {draft.number}."]


def test_credit_in_full_as_a_list_action(finance, draft):
    client, user = finance
    issued = invoicing.finalize_invoice(draft)
    page = credited_in_full(client, issued)
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.total == -issued.total
    shown = [str(m) for m in page.context["messages"]]
    assert any(m.endswith(f": credit note {note.number}.") for m in shown), shown
    event = AuditEvent.objects.get(action="credit_note_issued")
    assert (event.actor, event.details["reason"]) == (user, "credited in full in the admin")


def test_credit_in_full_asks_first_and_leaves_out_what_it_cannot_credit(finance, draft):
    """A credit note may pay money back: the list action shows what each chosen invoice has
    left to credit and asks, as a refund does; with nothing left to credit there is no
    Confirm."""
    client, _ = finance
    issued = invoicing.finalize_invoice(draft)

    asked = client.post(URL, {"action": "credit_in_full", "_selected_action": [issued.pk]})

    assert asked.status_code == 200 and not Invoice.objects.filter(credit_of=issued).exists()
    page = asked.content.decode()
    assert issued.number in page and format_amount(issued.total, issued.currency) in page
    assert "Confirm: issue 1 credit note" in page
    invoicing.issue_credit_note(issued)
    again = client.post(URL, {"action": "credit_in_full", "_selected_action": [issued.pk]})
    page = again.content.decode()
    assert "no: These lines are credited in full already." in page and "Confirm:" not in page
    assert "None of the chosen invoices can be credited." in page


def test_credit_in_full_does_not_offer_an_invoice_it_would_refuse(finance, customer):
    """An invoice holding a one-time order not refunded is refused a whole credit note (the
    order is given back by refunding it): the confirmation says so, without Confirm."""
    client, _ = finance
    customer.account()
    order = customer.one_time(amount=500, at=JAN + timedelta(days=3))
    (pk,) = invoicing.close_billing_period(JAN).created
    issued = invoicing.finalize_invoice(Invoice.objects.get(pk=pk), now=FEB + timedelta(days=4))

    page = client.post(URL, {"action": "credit_in_full", "_selected_action": [issued.pk]})

    text = page.content.decode()
    assert f"no: Order {order.pk} was paid at checkout: refund it" in text
    assert "Confirm:" not in text


def test_credit_note_for_chosen_lines_and_void(finance, draft):
    client, user = finance
    issued = invoicing.finalize_invoice(draft)
    fee = issued.lines.get(kind=LineKind.FLAT_FEE)
    client.post(f"{URL}{issued.pk}/credit/", {"line": [fee.pk], "reason": "fee waived"})
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.number.startswith("CN-") and note.total < 0
    assert AuditEvent.objects.get(action="credit_note_issued").actor == user
    # Corrected by a credit note, it is corrected further by another, not voided.
    page = client.get(f"{URL}{issued.pk}/change/")
    assert b'id="void-form"' not in page.content
    refused = client.post(f"{URL}{issued.pk}/void/", {"reason": "wrong entity"}, follow=True)
    assert b"has credit notes: correct it with another." in refused.content
    assert Invoice.objects.get(pk=issued.pk).status == InvoiceStatus.OPEN


def test_void_with_a_reason(finance, draft):
    client, _ = finance
    issued = invoicing.finalize_invoice(draft)
    refused = client.post(f"{URL}{issued.pk}/void/", {"reason": ""}, follow=True)
    assert b"A decision needs a reason." in refused.content
    client.post(f"{URL}{issued.pk}/void/", {"reason": "issued to the wrong entity"})
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.VOID
    assert AuditEvent.objects.get(action="invoice_voided").details["reason"] == (
        "issued to the wrong entity"
    )


def test_reviewers_cannot_see_or_act_on_invoices(admin_session, draft):
    client, _ = admin_session("reviewers")
    assert client.get(URL).status_code == 403
    assert client.post(f"{URL}{draft.pk}/finalize/").status_code == 403
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT


def test_invoice_pdf_from_the_change_page_is_finance_only_and_for_finalized_invoices(
    finance, admin_session, draft
):
    client, _ = finance
    assert b'id="invoice-pdf"' not in client.get(f"{URL}{draft.pk}/change/").content
    # A draft has no PDF: answered as the API answers it, on the change page.
    refused = client.get(f"{URL}{draft.pk}/pdf/")
    assert refused.status_code == 409 and refused["Content-Type"].startswith("text/html")
    assert f"Draft {draft.pk} has no document yet".encode() in refused.content
    assert b'class="invoice_not_finalized error"' in refused.content

    invoice = invoicing.finalize_invoice(draft)
    page = client.get(f"{URL}{invoice.pk}/change/")
    assert f'href="{URL}{invoice.pk}/pdf/"'.encode() in page.content
    pdf = client.get(f"{URL}{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")

    reviewer, _ = admin_session("reviewers")
    assert reviewer.get(f"{URL}{invoice.pk}/pdf/").status_code == 403
    assert reviewer.get(f"{URL}{invoice.pk + 1000}/pdf/").status_code == 403


def test_finance_resends_the_invoice_email_with_its_pdf(
    finance, draft, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    client, user = finance
    invoice = invoicing.finalize_invoice(draft)
    mailoutbox.clear()
    # It asks first (each chosen invoice is one more email to a customer), saying to whom.
    with django_capture_on_commit_callbacks(execute=True):
        rows, asked = _resend_asked(client, invoice)
    assert rows == [(invoice.pk, "ap@acme.example", "yes")]
    assert "Confirm: email 1 invoice" in asked
    assert mailoutbox == []
    assert not AuditEvent.objects.filter(action="invoice_email_resent").exists()

    shown = _resend(client, invoice, django_capture_on_commit_callbacks)
    assert any(m.endswith(": email queued to ap@acme.example.") for m in shown), shown
    (message,) = mailoutbox
    assert message.to == ["ap@acme.example"]
    (attachment,) = message.attachments
    assert attachment[0] == f"{invoice.number}.pdf" and attachment[1].startswith(b"%PDF-")
    assert AuditEvent.objects.filter(action="invoice_email_resent", actor=user).count() == 1

    (february,) = invoicing.close_billing_period(FEB).created  # a draft: nothing to send yet
    rows, asked = _resend_asked(client, Invoice.objects.get(pk=february))
    assert rows[0][1] == "-" and rows[0][2].startswith(f"no: Draft {february} has no document yet")
    assert "None of the chosen invoices can be emailed." in asked

    invoicing.void_invoice(invoice, reason="issued twice")  # nobody owes it now
    mailoutbox.clear()
    shown = _resend(client, invoice, django_capture_on_commit_callbacks)
    assert any(f"{invoice.number} is void: nothing is due" in m for m in shown), shown
    assert mailoutbox == []


def test_a_resend_the_broker_refuses_is_said_and_not_recorded_as_sent(
    finance,
    draft,
    make_customer,
    broker_refuses,
    mailoutbox,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    """With the task queue down, finance's resend says so for that invoice (its code, and
    that nothing was sent), records no resend, and goes on with the other chosen invoices."""
    client, _ = finance
    invoice = invoicing.finalize_invoice(draft)
    other = make_customer()
    other.account()
    other.ran(other.metered(), JAN, 1)
    (pk,) = invoicing.close_billing_period(JAN).created
    second = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))
    mailoutbox.clear()
    broker_refuses.invoice_ids = {invoice.pk}
    form = {"action": "resend_email", "_selected_action": [invoice.pk, second.pk], "post": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(URL, form, follow=True)
    assert page.status_code == 200
    shown = {m.level_tag: str(m) for m in page.context["messages"]}
    assert shown["error"].startswith(f"{invoice}: The task queue did not take the email")
    assert shown["info"].endswith(": email queued to ap@acme.example.")
    assert [m.subject.split(" from ")[0] for m in mailoutbox] == [f"Invoice {second.number}"]
    resent = AuditEvent.objects.filter(action="invoice_email_resent")
    assert [event.details["invoice"] for event in resent] == [second.pk]


def _tenant_sets_invoice_emails(member_client, tenant, emails):
    """The tenant's billing member replaces its invoice emails through the API."""
    api, _ = member_client("billing", tenant=tenant)
    account = api.get("/api/v1/billing/account").json()
    body = {name: account[name] for name in BillingAccount.DETAIL_FIELDS}
    answer = api.put("/api/v1/billing/account", body | {"invoice_emails": emails}, format="json")
    assert answer.status_code == 200, answer.json()


def _resend_asked(client, invoice) -> tuple[list[tuple], str]:
    """Finance's *Resend the invoice email* on ``invoice``, its first step: the page's rows
    (invoice id, addresses, whether it can be emailed) and the page."""
    asked = client.post(URL, {"action": "resend_email", "_selected_action": [invoice.pk]})
    assert asked.status_code == 200
    rows = [
        (
            int(row.get("data-invoice")),
            *(row.xpath(f'string(td[@class="resend-{cell}"])') for cell in ("to", "outcome")),
        )
        for row in lxml.html.fromstring(asked.content).xpath('//tr[@class="resend-row"]')
    ]
    return rows, asked.content.decode()


def _resend(client, invoice, capture):
    """Finance's *Resend the invoice email* on ``invoice``, confirmed (``post=yes``)."""
    form = {"action": "resend_email", "_selected_action": [invoice.pk], "post": "yes"}
    with capture(execute=True):
        page = client.post(URL, form, follow=True)
    return [str(m) for m in page.context["messages"]]


def test_resend_and_payment_notices_go_to_the_invoice_emails_of_now(
    finance, draft, member_client, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    """A contact replaced after finalize: the resend and the dunning notices both reach the
    new address; the printed document keeps the buyer it was issued to."""
    client, _ = finance
    invoice = invoicing.finalize_invoice(draft)
    _tenant_sets_invoice_emails(member_client, invoice.tenant, ["new-ap@acme.example"])
    mailoutbox.clear()

    shown = _resend(client, invoice, django_capture_on_commit_callbacks)
    assert any(m.endswith(": email queued to new-ap@acme.example.") for m in shown), shown
    (message,) = mailoutbox
    assert message.to == ["new-ap@acme.example"]
    assert invoice_document(invoice).buyer.emails == ("ap@acme.example",)

    mailoutbox.clear()
    sent = tasks.send_payment_notice.apply(args=(invoice.pk, "payment_failed", 1)).get()
    assert sent == {"notice": "payment_failed", "recipients": 1}  # logged: no address in it
    (notice,) = mailoutbox
    assert notice.to == ["new-ap@acme.example"]

    # Paid while a notice waited (or retried against a deferring mail server): it asks for
    # nothing any more and is not sent (before: "Payment failed" to a customer who had paid).
    mailoutbox.clear()
    collection.record_offline_payment(invoice, reference="SEPA-1")
    sent = tasks.send_payment_notice.apply(args=(invoice.pk, "uncollectible", 1)).get()
    assert sent == {"notice": "uncollectible", "recipients": 0}
    assert not mailoutbox


@pytest.mark.parametrize("notice", list(payment_notices.Notice))
def test_every_payment_notice_has_its_subject_and_says_what_is_owed(draft, mailoutbox, notice):
    """Each notice has its own body (a notice without one would be sent blank): it names the
    invoice and the amount due, and is signed."""
    invoice = invoicing.finalize_invoice(draft)
    mailoutbox.clear()
    sent = payment_notices.send_payment_notice(invoice.pk, notice, 1)
    (message,) = mailoutbox
    assert message.subject == sent.subject and invoice.number in message.subject
    body = message.body
    assert invoice.number in body and format_amount(invoice.amount_due, invoice.currency) in body
    assert body.startswith("Hello ") and "— EdgePlug billing" in body


@pytest.mark.parametrize(("attempts", "written"), [(1, "1 attempt"), (3, "3 attempts")])
def test_the_uncollectible_notice_counts_its_attempts_in_english(
    draft, mailoutbox, attempts, written
):
    """With ``BILLING_DUNNING_DAYS`` empty the first decline makes the invoice uncollectible:
    its notice read "after 1 attempts"."""
    invoice = invoicing.finalize_invoice(draft)
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.UNCOLLECTIBLE,
        payment_attempts=attempts,
        payment_failure_code="card_declined",
    )
    mailoutbox.clear()
    payment_notices.send_payment_notice(invoice.pk, "uncollectible", attempts)
    (message,) = mailoutbox
    assert re.search(rf"after {written}\s+\(last: card_declined\)", message.body), message.body


REFUSED = "554 5.7.1 Message rejected"
LATER = "451 4.3.0 Try again later"


def _payment_failed(draft) -> Invoice:
    """The invoice finalized and its first charge declined, as the dunning leaves it."""
    invoice = invoicing.finalize_invoice(draft)
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.PAYMENT_FAILED,
        payment_attempts=1,
        payment_failure_code="card_declined",
        payment_failure_detail="Your card was declined.",
    )
    return Invoice.objects.get(pk=invoice.pk)


def _notice_failure_shown(client, invoice) -> str:
    """The invoice's admin page as finance reads it: the payment notice failure's row."""
    page = lxml.html.fromstring(client.get(f"{URL}{invoice.pk}/change/").content)
    (row,) = page.xpath('//div[contains(@class, "field-payment_notice_failure_detail")]')
    return row.text_content()


def test_a_payment_notice_the_mail_server_refuses_is_not_retried_and_finance_sees_it(
    finance,
    draft,
    smtp_inbox,  # noqa: F811
):
    """A 5xx answer is for good: the notice is not sent again (it was, 20 times over about
    two and a half hours) and the refusal is kept on the invoice, in the admin (it was lost:
    the billing contact never learnt the card failed, and nobody knew)."""
    invoice = _payment_failed(draft)
    smtp_inbox.replies = [REFUSED] * 40

    result = tasks.send_payment_notice.apply(args=(invoice.pk, "payment_failed", 1))

    assert isinstance(result.result, DeliveryRefused)
    assert 40 - len(smtp_inbox.replies) == 1, "tried more than once"
    invoice.refresh_from_db()
    assert invoice.payment_notice_failure_code == "email_refused"
    assert f"Payment failed for invoice {invoice.number}" in invoice.payment_notice_failure_detail
    assert "554" in invoice.payment_notice_failure_detail
    client, _ = finance
    assert f"Payment failed for invoice {invoice.number}" in _notice_failure_shown(client, invoice)


def test_a_payment_notice_the_mail_server_defers_is_retried_and_its_giving_up_kept(
    draft,
    smtp_inbox,  # noqa: F811
):
    """A 4xx answer may pass: the notice is tried again (20 tries in all) and goes out once
    the server takes it; when it never does, the task's giving up is kept on the invoice."""
    invoice = _payment_failed(draft)
    smtp_inbox.replies = [LATER] * 3
    assert tasks.send_payment_notice.apply(args=(invoice.pk, "payment_failed", 1)).get() == {
        "notice": "payment_failed",
        "recipients": 1,
    }
    assert len(smtp_inbox.messages) == 1
    invoice.refresh_from_db()
    assert (invoice.payment_notice_failure_code, invoice.payment_notice_failure_detail) == ("", "")

    smtp_inbox.replies = [LATER] * 40
    result = tasks.send_payment_notice.apply(args=(invoice.pk, "payment_failed", 1))
    assert isinstance(result.result, DeliveryDeferred)
    assert 40 - len(smtp_inbox.replies) == 20
    invoice.refresh_from_db()
    assert invoice.payment_notice_failure_code == "email_deferred"
    assert "451" in invoice.payment_notice_failure_detail
    assert "not tried again" in invoice.payment_notice_failure_detail


def test_a_payment_notice_is_given_up_when_the_mail_server_stays_down(draft, settings):
    """Nothing listening (the server down for all the retries): the same record."""
    invoice = _payment_failed(draft)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with refusing_port() as port:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        result = tasks.send_payment_notice.apply(args=(invoice.pk, "uncollectible", 1))

    assert isinstance(result.result, DeliveryDeferred)
    invoice.refresh_from_db()
    assert invoice.payment_notice_failure_code == "email_deferred"
    assert "ConnectionRefusedError" in invoice.payment_notice_failure_detail
    assert invoice.number in invoice.payment_notice_failure_detail


def test_a_later_payment_notice_sent_clears_the_failure_of_an_earlier_one(
    draft,
    smtp_inbox,  # noqa: F811
):
    invoice = _payment_failed(draft)
    smtp_inbox.replies = [REFUSED]
    tasks.send_payment_notice.apply(args=(invoice.pk, "payment_failed", 1))
    tasks.send_payment_notice.apply(args=(invoice.pk, "payment_failed", 2)).get()
    invoice.refresh_from_db()
    assert (invoice.payment_notice_failure_code, invoice.payment_notice_failure_detail) == ("", "")
    assert len(smtp_inbox.messages) == 1


def test_a_payment_notice_names_the_sender_s_domain_not_the_worker_host(
    draft,
    smtp_inbox,  # noqa: F811
    settings,
):
    """Its Message-ID was Django's, ``<…@localhost>`` or the email worker pod's name."""
    settings.DEFAULT_FROM_EMAIL = "EdgePlug <billing@marketplace.example.com>"
    invoice = _payment_failed(draft)
    tasks.send_payment_notice.apply(args=(invoice.pk, "payment_failed", 1)).get()
    (message,) = smtp_inbox.messages
    assert message["Message-ID"].endswith("@marketplace.example.com>"), message["Message-ID"]


def test_an_invoice_issued_without_emails_is_resent_once_the_account_has_some(
    finance, customer, member_client, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    client, _ = finance
    customer.account(invoice_emails=[])
    customer.ran(customer.metered(), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    invoice = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))

    shown = _resend(client, invoice, django_capture_on_commit_callbacks)
    assert not any("email queued" in m for m in shown), shown  # refused: nobody to email
    assert not mailoutbox

    _tenant_sets_invoice_emails(member_client, invoice.tenant, ["ap@acme.example"])
    shown = _resend(client, invoice, django_capture_on_commit_callbacks)
    assert any(m.endswith(": email queued to ap@acme.example.") for m in shown), shown
    (message,) = mailoutbox
    assert message.to == ["ap@acme.example"]


CHARTS = "/admin/billing/finance/charts/"


def _overdue_on_the_chart(admin_session, at: datetime) -> int:
    """How many invoices the finance charts page counts overdue at ``at`` (signed in then)."""
    with time_machine.travel(at, tick=False):
        client, _ = admin_session("finance")
        page = client.get(CHARTS)
    assert page.status_code == 200
    return sum(row.overdue_count for row in page.context["receivables"])


def test_an_invoice_is_overdue_from_the_day_after_its_printed_due_date(
    admin_session, draft, settings
):
    """Finalized late on 3 February: due 17 February (14 days of terms, as printed), overdue
    on the chart from 18 February 00:00 UTC, not at the instant 14 x 24 h later (17 February
    23:30), nor for a terms setting read elsewhere."""
    settings.BILLING_PAYMENT_TERMS_DAYS = 14
    invoice = invoicing.finalize_invoice(draft, now=datetime(2026, 2, 3, 23, 30, tzinfo=UTC))
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice_document(invoice).due_date == date(2026, 2, 17)

    assert _overdue_on_the_chart(admin_session, datetime(2026, 2, 17, 23, 45, tzinfo=UTC)) == 0
    assert _overdue_on_the_chart(admin_session, datetime(2026, 2, 18, 0, 0, tzinfo=UTC)) == 1
    assert invoice.due_date == date(2026, 2, 17)
    assert list(Invoice.objects.filter(past_due(date(2026, 2, 18)))) == [invoice]
    assert not Invoice.objects.filter(past_due(date(2026, 2, 17))).exists()

    settings.BILLING_PAYMENT_TERMS_DAYS = 30  # the printed date and the chart move together
    assert invoice_document(invoice).due_date == date(2026, 3, 5)
    assert _overdue_on_the_chart(admin_session, datetime(2026, 3, 5, 23, 59, tzinfo=UTC)) == 0
    assert _overdue_on_the_chart(admin_session, datetime(2026, 3, 6, 0, 0, tzinfo=UTC)) == 1


def test_charts_draw_a_month_credited_more_than_it_invoiced(finance, draft):
    """A credit note counts in the month it is issued: February, which invoiced nothing, is
    below zero (revenue before tax). The page draws it, each bar within the plot, the axis
    from a round step below the lowest bar to one above the highest."""
    client, _ = finance
    january = invoicing.finalize_invoice(draft, now=datetime(2026, 2, 4, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 2, 10, tzinfo=UTC), tick=False):
        invoicing.issue_credit_note(january, reason="goodwill")

    page = client.get(CHARTS, {"period": "2026-02"})

    assert page.status_code == 200
    (by_month,) = page.context["by_month"]
    assert [bar.value for bar in by_month.bars][-2:] == [january.subtotal, -january.subtotal]
    assert_drawn_within_the_plot(by_month)
    lowest, highest = by_month.ticks[0][1], by_month.ticks[-1][1]
    assert lowest.startswith("-") and not highest.startswith("-"), by_month.ticks


@pytest.mark.parametrize(
    "amounts",
    [[-1000], [-15000, 40000], [1000, -1000], [0, 0], [-1, -1], [999_999, -3], [7, 8, 9]],
)
def test_every_bar_is_drawn_within_the_plot_on_an_axis_through_zero(amounts):
    """A vendor's revenue is below zero when refunds outweigh sales, a month's when its credit
    notes outweigh its invoices. The axis used to round its lower end up (above zero, or onto
    its upper end: a division by zero)."""
    assert_drawn_within_the_plot(
        finance_charts.bar_chart("r", "EUR", [(str(i), v) for i, v in enumerate(amounts)])
    )


def assert_drawn_within_the_plot(chart) -> None:
    """Ticks from the plot's bottom to its top (16 px below the top edge, 44 above the bottom
    one, as ``bar_chart`` lays it out), the zero line and every bar between them."""
    top, bottom = 16, chart.height - 44
    assert [y for y, _ in chart.ticks] == sorted((y for y, _ in chart.ticks), reverse=True)
    assert (chart.ticks[0][0], chart.ticks[-1][0]) == pytest.approx((bottom, top)), chart.ticks
    assert top <= chart.baseline <= bottom
    for bar in chart.bars:
        assert top <= bar.y and bar.y + bar.height <= bottom, (bar, chart.ticks)
