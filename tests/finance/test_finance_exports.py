"""Finance exports a month from the admin: invoices and lines as CSV, the PDFs as a ZIP, all
streamed so a month of thousands of invoices never sits in memory at once."""

import csv
import io
import tracemalloc
import zipfile
from datetime import UTC, datetime, timedelta

import facturx
import lxml.html
import pytest

from billing import exports, invoicing
from billing.models import Invoice, InvoiceLine, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from tests.factories import TenantFactory, VendorTenantFactory
from tests.invoicing.conftest import FEB, Customer

pytestmark = pytest.mark.django_db

EXPORTS = "/admin/billing/finance/exports/"


def read_csv(response) -> list[dict]:
    assert response.status_code == 200 and response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_invoice_changelist_links_to_the_finance_pages(books, admin_session):
    client, _ = admin_session("finance")
    html = client.get("/admin/billing/invoice/").content.decode()
    for href in (EXPORTS, "/admin/billing/finance/payouts/", "/admin/billing/finance/charts/"):
        assert f'href="{href}"' in html


def test_every_column_of_the_finance_pages_tables_has_a_heading(books, admin_session):
    """A screen reader names a cell by its column's heading: the charts' outstanding and
    overdue figures had an empty one (found by a probe)."""
    client, _ = admin_session("finance")
    for href in ("/admin/billing/finance/payouts/", "/admin/billing/finance/charts/"):
        page = lxml.html.fromstring(client.get(href, {"period": "2026-02"}).content)
        headings = page.xpath('//div[@id="content"]//table//th')
        assert headings and all(th.text_content().strip() for th in headings), href


def test_finance_downloads_the_months_invoices_as_csv(books, admin_session):
    client, user = admin_session("finance")
    page = client.get(EXPORTS, {"period": "2026-02"})
    assert "4 finalized invoices" in page.content.decode()  # two invoices, two credit notes
    response = client.get(f"{EXPORTS}invoices.csv", {"period": "2026-02"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-02.csv"'
    rows = read_csv(response)
    assert list(rows[0]) == exports.INVOICE_HEADER
    by_number = {row["number"]: row for row in rows}
    notes = {books.credit_note.number, books.refund_note.number}
    assert set(by_number) == {books.feb_c1.number, books.feb_c2.number, *notes}
    c1 = by_number[books.feb_c1.number]
    # 1000 fee + 1100 usage + 5000 order + 300 adjustment = 74.00 EUR, 19 % VAT
    assert (c1["subtotal"], c1["tax"], c1["total"]) == ("74.00", "14.06", "88.06")
    # 38.06 asked, less what its credit notes gave back while it was open: the fee (11.90)
    # and the VAT on the refunded order (9.50; the order itself was prepaid)
    assert (c1["prepaid"], c1["credited"], c1["amount_due"]) == ("50.00", "21.40", "16.66")
    assert c1["rounding"] == "0.00"  # only three-decimal currencies round what is asked
    assert (c1["buyer_legal_name"], c1["buyer_country"], c1["status"]) == (
        "Acme Pumps GmbH",
        "DE",
        "open",
    )
    note = by_number[books.credit_note.number]
    assert (note["kind"], note["credit_of"], note["subtotal"]) == (
        "credit_note",
        books.feb_c1.number,
        "-10.00",
    )
    refund = by_number[books.refund_note.number]  # refunded in March, on February's terms
    assert (refund["credit_of"], refund["subtotal"], refund["tax"]) == (
        books.feb_c1.number,
        "-50.00",
        "-9.50",
    )
    assert by_number[books.feb_c2.number]["currency"] == "USD"
    event = AuditEvent.objects.get(action="finance_export")
    assert event.actor == user and event.details == {
        "export": "invoices_csv",
        "period": "2026-02",
        "drafts": False,
    }


def test_drafts_are_exported_only_when_asked(books, admin_session):
    client, _ = admin_session("finance")
    rows = read_csv(client.get(f"{EXPORTS}invoices.csv", {"period": "2026-02", "drafts": "1"}))
    drafts = [row for row in rows if row["status"] == "draft"]
    assert [row["invoice_id"] for row in drafts] == [str(books.draft.pk)]
    assert drafts[0]["number"] == ""


@pytest.mark.parametrize(
    ("given", "with_drafts"), [("1", True), ("true", True), ("0", False), ("false", False)]
)
def test_drafts_is_read_as_the_api_reads_true_or_false(books, admin_session, given, with_drafts):
    """``drafts=true`` left the drafts out (only ``1`` was read as yes)."""
    client, _ = admin_session("finance")
    rows = read_csv(client.get(f"{EXPORTS}invoices.csv", {"period": "2026-02", "drafts": given}))
    assert any(row["status"] == "draft" for row in rows) is with_drafts


@pytest.mark.parametrize("given", ["yes", "on", "maybe", ""])
def test_a_drafts_value_not_understood_is_said_so_not_read_as_no(books, admin_session, given):
    """It was read as "no" without a word: the file came without the drafts asked for."""
    client, _ = admin_session("finance")
    asked = {"period": "2026-02", "drafts": given}
    response = client.get(f"{EXPORTS}invoices.csv", asked, follow=True)
    assert response.redirect_chain[-1][0] == f"{EXPORTS}?period=2026-02"
    assert [str(m) for m in response.context["messages"]] == [
        f"drafts={given!r} is not understood: Enter true or false."
    ]
    assert not AuditEvent.objects.filter(action="finance_export").exists()


def test_the_lines_csv_names_agent_vendor_and_amounts(books, admin_session):
    client, _ = admin_session("finance")
    rows = read_csv(client.get(f"{EXPORTS}lines.csv", {"period": "2026-02"}))
    assert list(rows[0]) == exports.LINE_HEADER
    mine = [row for row in rows if row["invoice"] == books.feb_c1.number]
    assert [row["kind"] for row in mine] == ["flat_fee", "usage", "one_time_order", "adjustment"]
    usage = mine[1]
    assert (usage["vendor"], usage["quantity"], usage["usage_seconds"]) == (
        "vendor-one",
        "12",
        str(12 * 3600),
    )
    assert (usage["amount"], usage["amount_minor"], usage["currency"]) == ("11.00", "1100", "EUR")
    # Unit prices as the invoice's PDF prints them: the currency's decimals at least (10.00,
    # not 10), more only where the price has them (the usage line's 11.00 over 12 hours).
    units = [row["unit_amount"] for row in mine]
    assert units == ["10.00", "0.91666667", "50.00", "3.00"]
    assert mine[3]["vendor"] == "" and mine[2]["prepaid"] == "yes"
    assert (
        len(rows)
        == InvoiceLine.objects.filter(invoice__period_start=FEB)
        .exclude(invoice__status="draft")
        .count()
    )


def test_a_formula_in_a_description_is_not_run_by_a_spreadsheet(books, admin_session):
    from billing import invoicing

    draft = books.draft
    invoicing.add_adjustment_line(draft, description='=HYPERLINK("x")', amount=-100)
    client, _ = admin_session("finance")
    rows = read_csv(client.get(f"{EXPORTS}lines.csv", {"period": "2026-02", "drafts": "1"}))
    assert '\'=HYPERLINK("x")' in [row["description"] for row in rows]


def test_amounts_use_each_currencys_exponent():
    assert exports.major(123456, "JPY") == "123456"
    assert exports.major(123456, "KWD") == "123.456"
    assert exports.major(-5, "EUR") == "-0.05"
    assert exports.major(100, "EUR") == "1.00"
    assert exports.major(None, "EUR") == ""


def test_the_pdf_zip_from_the_admin_holds_each_invoice_as_pdf_a3_with_its_xml(books, admin_session):
    client, _ = admin_session("finance")
    response = client.get(f"{EXPORTS}pdfs.zip", {"period": "2026-02"})
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    finalized = Invoice.objects.filter(period_start=FEB).exclude(status="draft")
    assert len(archive.namelist()) == finalized.count() > 0
    for invoice in finalized:
        (name,) = [n for n in archive.namelist() if invoice.number in n]
        pdf = archive.read(name)
        assert pdf.startswith(b"%PDF-")
        _, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
        assert invoice.number.encode() in xml


def test_the_pdf_zip_leaves_a_void_invoice_out_and_the_csv_lists_it(books, admin_session):
    """A void invoice's document is withdrawn: its e-invoice would be booked as owed."""
    client, _ = admin_session("finance")
    void = Invoice.objects.filter(period_start=FEB, kind="invoice", status="open").first()
    assert void is not None
    invoicing.void_invoice(void, reason="issued twice")

    response = client.get(f"{EXPORTS}pdfs.zip", {"period": "2026-02"})

    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    kept = Invoice.objects.filter(period_start=FEB).exclude(status__in=["draft", "void"])
    assert sorted(names) == sorted(
        f"{number}.pdf" for number in kept.values_list("number", flat=True)
    )
    assert f"{void.number}.pdf" not in names
    rows = read_csv(client.get(f"{EXPORTS}invoices.csv", {"period": "2026-02"}))
    assert {row["number"]: row["status"] for row in rows}[void.number] == "void"


def test_the_pdf_zip_streams_one_pdf_per_finalized_document(books):
    rendered = []

    def render(invoice):
        rendered.append(invoice.number)
        return f"%PDF-1.7 {invoice.number} {invoice.total}".encode()

    chunks = exports.pdf_zip(FEB, render)
    first = next(chunks)
    assert rendered == [books.feb_c1.number] and first.startswith(b"PK\x03\x04")
    archive = zipfile.ZipFile(io.BytesIO(first + b"".join(chunks)))
    assert archive.testzip() is None
    names = sorted(archive.namelist())
    assert names == sorted(f"{n}.pdf" for n in rendered)
    assert len(names) == 4  # two invoices and two credit notes; the draft has no PDF
    assert archive.read(f"{books.feb_c1.number}.pdf") == (
        f"%PDF-1.7 {books.feb_c1.number} {books.feb_c1.total}".encode()
    )


@pytest.mark.parametrize("group", ["reviewers", "platform-admins"])
def test_other_staff_groups_cannot_export(books, admin_session, group):
    client, _ = admin_session(group)
    for path in ("", "invoices.csv", "lines.csv", "pdfs.zip"):
        assert client.get(f"{EXPORTS}{path}").status_code == 403


# --- bounded memory ----------

CHUNK, FEW, MANY = 100, 500, 2000


def _many_invoices(first: int, count: int) -> None:
    """``count`` finalized invoices of February with two lines each, written in bulk."""
    tenants = [TenantFactory() for _ in range(count)]
    issued = FEB + timedelta(days=33)
    invoices = Invoice.objects.bulk_create(
        Invoice(
            tenant=tenant,
            status=InvoiceStatus.OPEN,
            number=f"EP-2026-{first + n + 1:06d}",
            currency="EUR",
            period_start=FEB,
            period_end=datetime(2026, 3, 1, tzinfo=UTC),
            account_snapshot={"buyer": {"legal_name": f"Buyer {n} " + "x" * 200}},
            subtotal=1000,
            tax=190,
            total=1190,
            finalize_after=issued,
        )
        for n, tenant in enumerate(tenants)
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            kind="adjustment",
            description=f"line {position} " + "y" * 250,
            amount=500,
            period_start=FEB,
            period_end=invoice.period_end,
        )
        for invoice in invoices
        for position in range(2)
    )
    # Frozen with their lines, as a finalize leaves them (the triggers refuse lines after).
    Invoice.objects.filter(pk__in=[i.pk for i in invoices]).update(finalized_at=issued)


def _fake_pdf(invoice) -> bytes:
    return b"%PDF-1.7\n" + invoice.number.encode() * 400


EXPORTS_TO_MEASURE = {
    "invoices": lambda: exports.invoices_csv(FEB),
    "lines": lambda: exports.lines_csv(FEB),
    "zip": lambda: exports.pdf_zip(FEB, _fake_pdf),
}


def _measure() -> dict[str, tuple[int, int]]:
    """Per export: (peak traced memory while streaming it, bytes it wrote)."""
    found = {}
    for name, export in EXPORTS_TO_MEASURE.items():
        tracemalloc.start()
        try:
            size = sum(len(chunk) for chunk in export())
            found[name] = (tracemalloc.get_traced_memory()[1], size)
        finally:
            tracemalloc.stop()
    return found


@pytest.mark.slow
def test_exporting_thousands_of_invoices_keeps_memory_bounded(settings):
    """Four times the invoices, the same memory: each export holds a chunk of 100 rows (and
    the one before it, while the next is fetched) or one PDF at a time, never the month."""
    settings.BILLING_EXPORT_CHUNK_SIZE = CHUNK
    _many_invoices(0, FEW)
    _measure()  # warm up: first-use costs (query compilation, imports) are not the export's
    few = _measure()
    _many_invoices(FEW, MANY - FEW)
    many = _measure()
    for name in EXPORTS_TO_MEASURE:
        (peak_few, size_few), (peak_many, size_many) = few[name], many[name]
        assert size_many > 3.5 * size_few, name  # it did write four times as much
        if name == "zip":
            # A ZIP ends with its central directory: a name, CRC and offset per member stay
            # until the end (about 1 KB per invoice in Python), never a PDF's bytes.
            per_invoice = (peak_many - peak_few) / (MANY - FEW)
            assert per_invoice < 1500, per_invoice
            assert peak_many < size_many / 4, (peak_many, size_many)
        else:
            # Loading every row would take about four times the memory at four times the rows.
            assert peak_many < 2 * peak_few, (name, peak_few, peak_many)


def test_a_reverse_charged_invoice_exports_the_rate_it_declares(admin_session):
    """Its PDF and e-invoice declare category AE at 0 %; the CSV gave the account's 19.00,
    so subtotal times the rate was not its tax (found by a review)."""
    customer = Customer(TenantFactory(), VendorTenantFactory())
    customer.account(reverse_charge=True, country="FR", tax_id="FR40123456824")
    customer.ran(customer.metered(since=FEB), FEB, 3)
    invoicing.close_billing_period(FEB)
    invoice = invoicing.finalize_invoice(Invoice.objects.get(tenant=customer.tenant))
    client, _ = admin_session("finance")

    (row,) = read_csv(client.get(f"{EXPORTS}invoices.csv", {"period": "2026-02"}))

    assert (row["number"], row["reverse_charge"]) == (invoice.number, "yes")
    assert (row["tax_rate"], row["tax"]) == ("0.00", "0.00")
