"""Finance works invoices in Chromium, the way a person does: the invoice list filtered by
period, a draft adjusted then finalized, a credit note for one chosen line, a void with a
reason, an offline payment recorded through the changelist action's intermediate form (and a
payment retry refused once it is paid, its email resent after asking), that invoice credited
in full and the money its credit note owes recorded as paid back, and the invoice's PDF from
its change page. Each step checks what the page shows; the end checks the database (and the
audit trail)."""

import re
from datetime import timedelta

import pytest

from billing import invoicing
from billing.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from marketplace.pricing import format_amount
from tests.invoices.pdf_reading import pdf_text
from tests.invoicing.conftest import FEB, JAN, make_customer, vendor_tenant  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

URL = "/admin/billing/invoice/"
NUMBER = re.compile(r"EP-\d{4}-\d{6}")


@pytest.fixture
def invoices(make_customer):  # noqa: F811
    """January: a draft for ``acme`` (to adjust, finalize, credit), two finalized unpaid
    invoices (one to void, one paid by bank transfer). February: three drafts (acme's among
    them) that the period filter must hide."""
    acme = make_customer()
    acme.account()
    hours = acme.metered()
    acme.ran(hours, JAN + timedelta(days=2), 3)
    acme.ran(hours, FEB + timedelta(days=2), 2)
    to_void, to_pay = make_customer(), make_customer()
    for other in (to_void, to_pay):
        other.account(legal_name=f"Other {other.tenant.slug}")
        other.ran(other.metered(), JAN + timedelta(days=4), 1)
    invoicing.close_billing_period(JAN)
    invoicing.close_billing_period(FEB)

    def jan(customer):
        return Invoice.objects.get(tenant=customer.tenant, period_start=JAN, kind="invoice")

    return {
        "draft": jan(acme),
        "february": Invoice.objects.get(tenant=acme.tenant, period_start=FEB),
        "to_void": invoicing.finalize_invoice(jan(to_void)),
        "to_pay": invoicing.finalize_invoice(jan(to_pay)),
    }


def _message(page) -> str:
    return page.locator(".messagelist").inner_text()


def test_finance_works_an_invoice_month_in_the_browser(journey, staff_user, invoices, tmp_path):
    draft, february = invoices["draft"], invoices["february"]
    to_void, to_pay = invoices["to_void"], invoices["to_pay"]
    finance = staff_user("finance")
    journey.sign_in(finance)
    page = journey.page

    # The invoice list, filtered by period: February's drafts go, January's three remain.
    journey.goto(URL)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 6  # three tenants, two months
    assert page.viewport_size["width"] == 1280
    assert journey.hidden_column_headers() == []
    journey.click(page.locator("#changelist-filter").get_by_role("link", name="2026-01"))
    assert "period=2026-01" in page.url
    assert rows.count() == 3
    listed = page.locator("#result_list").inner_text()
    assert f"draft {draft.pk}" in listed and f"draft {february.pk}" not in listed
    assert to_void.number in listed and to_pay.number in listed

    # Open the draft; add an adjustment line and see it among the lines.
    journey.click(page.get_by_role("link", name=f"draft {draft.pk}", exact=True))
    assert page.url.startswith(f"{journey.base_url}{URL}{draft.pk}/change/")
    assert page.locator("#invoice-pdf").count() == 0  # a draft has no PDF yet
    adjust = page.locator("#adjust-form")
    adjust.get_by_label("Description:").fill("Onboarding workshop")
    adjust.get_by_label(re.compile(r"^Amount \(EUR")).fill("-2.50")
    journey.click(adjust.get_by_role("button", name="Add line"))
    assert "Adjustment of" in _message(page) and "2.50" in _message(page)
    lines = page.locator("#lines-group")
    assert "Onboarding workshop" in lines.inner_text()
    added = lines.locator("tr", has_text="Onboarding workshop").inner_text()
    assert "-2.50 EUR" in added and "-250" not in added  # in euros, its title too
    assert page.url.endswith("?_changelist_filters=period%3D2026-01")  # the list as left

    # Finalize it: the message and the page show its number; the draft forms are gone.
    journey.click(page.locator("#finalize-form").get_by_role("button", name="Finalize now"))
    finalized = NUMBER.search(_message(page))
    assert finalized, _message(page)
    number = finalized.group(0)
    assert page.locator(".field-number .readonly").inner_text() == number
    assert page.locator(".field-status .readonly").inner_text().lower() == "open"
    assert page.locator("#adjust-form").count() == 0
    assert page.locator("#finalize-form").count() == 0
    assert page.url.endswith("?_changelist_filters=period%3D2026-01")

    # Its PDF, from the change page: the same document the tenant gets.
    with page.expect_download() as download:
        page.locator("#invoice-pdf").click()
    assert download.value.suggested_filename == f"{number}.pdf"
    download.value.save_as(tmp_path / "invoice.pdf")
    pdf = (tmp_path / "invoice.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert number in text and "Onboarding workshop" in text
    journey.check()

    # A credit note for one chosen line (the flat fee), not the whole invoice.
    fee = draft.lines.get(kind=LineKind.FLAT_FEE)
    credit = page.locator("#credit-form")
    credit.locator(f'input[name="line"][value="{fee.pk}"]').check()
    credit.get_by_label("Reason:").fill("Fee waived for the pilot")
    journey.click(credit.get_by_role("button", name="Issue credit note for the chosen lines"))
    issued = re.search(r"Credit note (CN-\d{4}-\d{6}) issued \(([^)]*)\)", _message(page))
    assert issued, _message(page)
    assert "11.90" in issued.group(2)  # the 10.00 fee and its 19 % VAT

    # Void another unpaid finalized invoice, with a reason.
    journey.goto(f"{URL}{to_void.pk}/change/")
    void = page.locator("#void-form")
    void.get_by_label("Reason:").fill("Issued to the wrong legal entity")
    journey.click(void.get_by_role("button", name="Void this unpaid invoice"))
    assert _message(page).strip() == f"{to_void.number} voided."
    assert page.locator(".field-status .readonly").inner_text().lower() == "void"
    assert "wrong legal entity" in page.locator(".field-void_reason").inner_text()
    assert page.locator("#void-form").count() == 0

    # Record an offline payment from the list: choose the invoice and the action, then give
    # the reference on the intermediate page.
    journey.goto(f"{URL}?period=2026-01")
    page.locator(f'#result_list input[name="_selected_action"][value="{to_pay.pk}"]').check()
    page.locator('select[name="action"]').select_option("record_offline_payment")
    journey.click(page.get_by_role("button", name="Go"))
    assert page.get_by_role("heading", name="Record an offline payment").count() == 1
    assert to_pay.number in _content(page)
    page.get_by_label("Payment reference:").fill("NOTPROVIDED-E2E-4711")
    journey.click(page.get_by_role("button", name="Record payment"))
    assert f"{to_pay.number} recorded as paid." in _message(page)
    assert page.url.startswith(journey.base_url + URL)
    paid_row = page.locator("#result_list tbody tr", has_text=to_pay.number)
    assert "paid" in paid_row.inner_text().lower()

    # Retrying the payment of the invoice just paid: it asks first (a retry charges the card),
    # and its page says why this one cannot be charged, offering nothing to confirm.
    page.locator(f'#result_list input[name="_selected_action"][value="{to_pay.pk}"]').check()
    page.locator('select[name="action"]').select_option("retry_payment")
    journey.click(page.get_by_role("button", name="Go"))
    refusal = page.locator("#retry-invoices tbody tr").inner_text()
    assert to_pay.number in refusal and "only finalized, unpaid invoices" in refusal
    assert "None of the chosen invoices can be charged now." in _content(page)
    journey.click(page.get_by_role("link", name="Back to the invoices"))

    # Resending its email asks first too (one more email to the customer), saying to whom.
    page.locator(f'#result_list input[name="_selected_action"][value="{to_pay.pk}"]').check()
    page.locator('select[name="action"]').select_option("resend_email")
    journey.click(page.get_by_role("button", name="Go"))
    row = page.locator("#resend-invoices tbody tr")
    to = row.locator(".resend-to").inner_text()
    assert to_pay.number in row.inner_text() and "@" in to
    assert row.locator(".resend-outcome").inner_text() == "yes"
    journey.click(page.get_by_role("button", name="Confirm: email 1 invoice"))
    assert f"{to_pay.number}" in _message(page) and f"email queued to {to}." in _message(page)

    # Credited in full once paid by transfer, the invoice's credit note owes the money back:
    # the list's "money back" filter shows it, and finance records the transfer sent back.
    # It asks first, as a refund does (it pays money back), saying so; Cancel issues nothing.
    page.locator(f'#result_list input[name="_selected_action"][value="{to_pay.pk}"]').check()
    page.locator('select[name="action"]').select_option("credit_in_full")
    journey.click(page.get_by_role("button", name="Go"))
    row = page.locator("#credit-invoices tbody tr")
    assert row.count() == 1 and to_pay.number in row.inner_text()
    assert "yes: it is paid" in row.inner_text()
    assert format_amount(to_pay.total, to_pay.currency) in row.inner_text()
    journey.click(page.get_by_role("link", name="Cancel"))
    assert not Invoice.objects.filter(credit_of=to_pay).exists()
    page.locator(f'#result_list input[name="_selected_action"][value="{to_pay.pk}"]').check()
    page.locator('select[name="action"]').select_option("credit_in_full")
    journey.click(page.get_by_role("button", name="Go"))
    page.get_by_label("Reason").fill("paid twice by transfer")
    journey.click(page.get_by_role("button", name="Confirm: issue 1 credit note"))
    back = re.search(rf"{to_pay.number}.*: credit note (CN-\d{{4}}-\d{{6}})\.", _message(page))
    assert back, _message(page)
    journey.goto(f"{URL}?money_back=owed")
    owed = page.locator("#result_list tbody tr")
    assert owed.count() == 1 and back.group(1) in owed.inner_text()
    owed.locator('input[name="_selected_action"]').check()
    page.locator('select[name="action"]').select_option("record_money_paid_back")
    journey.click(page.get_by_role("button", name="Go"))
    assert page.get_by_role("heading", name="Record money paid back").count() == 1
    owes = format_amount(to_pay.total, to_pay.currency)  # paid in full: all of it goes back
    assert f"gives back {owes}" in _content(page)
    page.get_by_label("Transfer reference:").fill("SEPA-BACK-0815")
    journey.click(page.get_by_role("button", name="Record paid back"))
    assert f"{back.group(1)}: paid back (SEPA-BACK-0815)." in _message(page)
    journey.goto(f"{URL}?money_back=owed")
    assert page.locator("#result_list tbody tr").count() == 0

    # With numbers, a credit note and its statuses in the list: every column still in sight.
    journey.goto(URL)
    assert journey.hidden_column_headers() == []

    # The database agrees with what the pages showed, and each act is audited.
    draft.refresh_from_db()
    assert (draft.number, draft.status) == (number, InvoiceStatus.OPEN)
    adjustment = draft.lines.get(kind=LineKind.ADJUSTMENT)
    assert (adjustment.amount, adjustment.description) == (-250, "Onboarding workshop")
    assert adjustment.created_by == finance
    note = Invoice.objects.get(credit_of=draft)
    assert (note.kind, note.number) == (InvoiceKind.CREDIT_NOTE, issued.group(1))
    assert note.lines.count() == 1 and note.total == -1190  # credit notes count negative
    to_void.refresh_from_db()
    assert to_void.status == InvoiceStatus.VOID
    assert to_void.void_reason == "Issued to the wrong legal entity"
    to_pay.refresh_from_db()
    assert (to_pay.status, to_pay.payment_reference) == (
        InvoiceStatus.PAID,
        "NOTPROVIDED-E2E-4711",
    )
    february.refresh_from_db()
    assert february.status == InvoiceStatus.DRAFT
    done = set(AuditEvent.objects.filter(actor=finance).values_list("action", flat=True))
    credited = AuditEvent.objects.get(action="credit_note_issued", target__contains=to_pay.number)
    assert credited.details["reason"] == "paid twice by transfer"
    audited = {"invoice_adjusted", "invoice_finalized", "credit_note_issued", "invoice_voided"}
    assert audited | {"invoice_paid", "credit_note_refunded"} <= done, done
    paid_back = Invoice.objects.get(credit_of=to_pay)
    assert (paid_back.refund_amount, paid_back.refund_reference) == (
        to_pay.total,
        "SEPA-BACK-0815",
    )


def _content(page) -> str:
    return page.locator("#content").inner_text()
