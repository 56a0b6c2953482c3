"""Finance exports of one billing period (a UTC month), streamed: the invoices as CSV, their
lines as CSV, and a ZIP of the invoice PDFs.

Each export is a generator of bytes that reads the database in chunks
(``.iterator(chunk_size=BILLING_EXPORT_CHUNK_SIZE)``, a server-side cursor on PostgreSQL) and
writes one row (or one PDF) at a time, so memory stays bounded whatever the number of
invoices. Formats: docs/billing.md ("Finance").
"""

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from zipfile import ZIP_STORED, ZipFile, ZipInfo

from django.conf import settings
from django.db.models import QuerySet

from billing import invoice_documents
from billing.csv_stream import csv_lines
from billing.documents.document import declared_vat_rate
from billing.models import AMOUNT_DUE, Invoice, InvoiceLine, InvoiceStatus, line_agent
from billing.periods import month_label
from edgeplug.errors import DomainError
from edgeplug.timefmt import utc_iso
from marketplace.pricing import major_units, plain_number, unit_price_text

Renderer = Callable[[Invoice], bytes]

logger = logging.getLogger(__name__)


def _chunk() -> int:
    return settings.BILLING_EXPORT_CHUNK_SIZE


def major(amount: int | None, currency: str) -> str:
    """Minor units as a decimal in the currency's major unit (``pricing.major_units``:
    ``1234, "EUR"`` → ``"12.34"``, ``1234, "JPY"`` → ``"1234"``); blank for none."""
    return "" if amount is None else major_units(amount, currency)


def _when(moment: datetime | None) -> str:
    return utc_iso(moment) if moment else ""


def period_invoices(start: datetime, *, include_drafts: bool = False) -> QuerySet:
    """Invoices and credit notes of the billing period starting at ``start`` (a credit note
    belongs to the period of the invoice it corrects)."""
    invoices = Invoice.objects.filter(period_start=start)
    if not include_drafts:
        invoices = invoices.exclude(status=InvoiceStatus.DRAFT)
    return invoices


# --- invoices CSV ----------


def _as_is(value, row: dict):
    return value


def _or_blank(value, row: dict):
    return value or ""


def _money(value, row: dict) -> str:
    return major(value, row["currency"])


def _instant(value, row: dict) -> str:
    return _when(value)


def _declared_rate(rate, row: dict) -> str:
    """The rate the invoice declares (0.00 under reverse charge): subtotal times it is tax."""
    return f"{declared_vat_rate(rate, row['reverse_charge']):.2f}"


def _buyer(key: str) -> Callable[[object, dict], str]:
    return lambda snapshot, row: ((snapshot or {}).get("buyer") or {}).get(key, "")


# The invoices CSV, one column a line: its header, the field of ``Invoice`` it reads (or the
# annotation ``amount_due``) and how the value is written. One table, so a header, its field
# and its value cannot drift apart; the query reads exactly the fields named here.
_INVOICE_COLUMNS: tuple[tuple[str, str, Callable[[object, dict], object]], ...] = (
    ("number", "number", _or_blank),
    ("kind", "kind", _as_is),
    ("status", "status", _as_is),
    ("credit_of", "credit_of__number", _or_blank),
    ("tenant", "tenant__slug", _as_is),
    ("tenant_name", "tenant__name", _as_is),
    ("buyer_legal_name", "account_snapshot", _buyer("legal_name")),
    ("buyer_country", "account_snapshot", _buyer("country")),
    ("buyer_tax_id", "account_snapshot", _buyer("tax_id")),
    ("period", "period_start", lambda start, row: month_label(start)),
    ("currency", "currency", _as_is),
    ("subtotal", "subtotal", _money),
    ("tax_rate", "tax_rate", _declared_rate),
    ("reverse_charge", "reverse_charge", lambda reverse, row: "yes" if reverse else "no"),
    ("tax", "tax", _money),
    ("total", "total", _money),
    ("prepaid", "prepaid_amount", _money),
    ("credited", "credited_amount", _money),
    ("rounding", "rounding_amount", _money),
    ("amount_due", "amount_due", _money),
    ("issued_at", "finalized_at", _instant),
    ("paid_at", "paid_at", _instant),
    ("voided_at", "voided_at", _instant),
    ("payment_reference", "payment_reference", _as_is),
    ("refund", "refund_amount", _money),
    ("refunded_at", "refunded_at", _instant),
    ("refund_reference", "refund_reference", _as_is),
    ("refunded_by", "refunded_by", _as_is),
    ("invoice_id", "id", _as_is),
)
_INVOICE_FIELDS = tuple(
    dict.fromkeys(field for _, field, _ in _INVOICE_COLUMNS if field != "amount_due")
)
INVOICE_HEADER = [header for header, _, _ in _INVOICE_COLUMNS]


def _invoice_rows(invoices: QuerySet) -> Iterator[list]:
    invoices_first = invoices.order_by("-kind", "number", "id")
    rows = invoices_first.values(*_INVOICE_FIELDS, amount_due=AMOUNT_DUE)
    for row in rows.iterator(chunk_size=_chunk()):
        yield [show(row[field], row) for _, field, show in _INVOICE_COLUMNS]


def invoices_csv(start: datetime, *, include_drafts: bool = False) -> Iterator[bytes]:
    """One row per invoice or credit note of the period; amounts in the major unit."""
    return csv_lines(
        INVOICE_HEADER, _invoice_rows(period_invoices(start, include_drafts=include_drafts))
    )


# --- lines CSV ----------

LINE_HEADER = [
    "invoice",
    "invoice_id",
    "invoice_kind",
    "invoice_status",
    "tenant",
    "position",
    "kind",
    "description",
    "agent",
    "vendor",
    "line_period_start",
    "line_period_end",
    "quantity",
    "currency",
    "unit_amount",
    "amount",
    "amount_minor",
    "usage_seconds",
    "prepaid",
]


def _line_rows(invoices: QuerySet) -> Iterator[list]:
    lines = (
        InvoiceLine.objects.filter(invoice__in=invoices.values("pk"))
        .annotate(
            agent_name=line_agent("name"),
            vendor_slug=line_agent("tenant__slug"),
        )
        .order_by("invoice_id", "position", "id")
        .values_list(
            "invoice__number",
            "invoice_id",
            "invoice__kind",
            "invoice__status",
            "invoice__tenant__slug",
            "position",
            "kind",
            "description",
            "agent_name",
            "vendor_slug",
            "period_start",
            "period_end",
            "quantity",
            "invoice__currency",
            "unit_amount",
            "amount",
            "usage_seconds",
            "is_paid",
        )
    )
    for row in lines.iterator(chunk_size=_chunk()):
        (number, invoice_id, kind_of_invoice, status, tenant, position, kind, description) = row[:8]
        agent, vendor, start, end, quantity, currency, unit, amount, seconds, paid = row[8:]
        yield [
            number or "",
            invoice_id,
            kind_of_invoice,
            status,
            tenant,
            position,
            kind,
            description,
            agent or "",
            vendor or "",
            _when(start),
            _when(end),
            plain_number(quantity),
            currency,
            unit_price_text(unit, currency),
            major(amount, currency),
            amount,
            "" if seconds is None else seconds,
            "yes" if paid else "no",
        ]


def lines_csv(start: datetime, *, include_drafts: bool = False) -> Iterator[bytes]:
    """One row per line of the period's invoices and credit notes."""
    return csv_lines(LINE_HEADER, _line_rows(period_invoices(start, include_drafts=include_drafts)))


# --- ZIP of PDFs ----------


def default_pdf_renderer() -> Renderer:
    """The installation's invoice PDF renderer (billing/documents: PDF/A-3 with Factur-X)."""
    return invoice_documents.invoice_pdf


class _Chunks:
    """A write-only, unseekable file for ZipFile that keeps only what was written since the
    last ``drain``; ZipFile then writes sizes after each member (data descriptors)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def pdf_documents(start: datetime) -> QuerySet:
    """The documents ``pdf_zip`` holds: the period's finalized invoices and credit notes, but
    void ones, invoices first."""
    return (
        period_invoices(start)
        .issued()
        .select_related("tenant", "credit_of")
        .prefetch_related(None)
        .order_by("-kind", "number", "id")  # invoices, then credit notes
    )


def pdf_zip(
    start: datetime, render: Renderer, on_each: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """A ZIP with ``<number>.pdf`` for each finalized invoice and credit note of the period,
    but void ones (their document is withdrawn: ``document_refusal``; the CSV lists them),
    rendered and sent one at a time (PDFs are compressed already: members are stored).

    A document that cannot be made (``_pdf_or_why``) is ``<number>.error.txt`` saying why:
    the archive's first members are sent already, so raising would cut it short, without a
    central directory, behind a 200. ``on_each(done)`` is told how many documents are in
    the archive after each one (the archive built by a worker records its progress)."""
    sink = _Chunks()
    with ZipFile(sink, mode="w", compression=ZIP_STORED, allowZip64=True) as archive:
        for done, invoice in enumerate(_in_batches(pdf_documents(start)), start=1):
            name, data = _pdf_or_why(invoice, render)
            member = ZipInfo(name, date_time=_zip_time(invoice.finalized_at))
            member.compress_type = ZIP_STORED
            archive.writestr(member, data)
            if on_each:
                on_each(done)
            yield sink.drain()
    yield sink.drain()  # the central directory


def _in_batches(documents: QuerySet) -> Iterator[Invoice]:
    """``documents`` in their order, read ``BILLING_EXPORT_CHUNK_SIZE`` at a time by id, not
    by a server-side cursor: the archive's worker commits its progress between documents,
    and a cursor kept across those transactions (``WITH HOLD``) is lost behind PgBouncer's
    transaction pooling (docs/scaling.md). The ids of a month's documents fit in memory."""
    ids = list(documents.values_list("pk", flat=True))
    for at in range(0, len(ids), _chunk()):
        batch = ids[at : at + _chunk()]
        found = documents.in_bulk(batch)
        yield from (found[pk] for pk in batch if pk in found)


def _pdf_or_why(invoice: Invoice, render: Renderer) -> tuple[str, bytes]:
    """``(<number>.pdf, the PDF)``, or ``(<number>.error.txt, why)`` when its document cannot
    be made: data stored before a rule that now refuses it (a buyer's country finalized before
    2026-12-01), which the invoice's own PDF link answers the same way. One of ours (a 5xx:
    the e-invoice we built fails its checks; an error that is no refusal at all,
    ``NOT_RENDERED``) is logged as an error, with its traceback."""
    try:
        return f"{invoice.number}.pdf", render(invoice)
    except DomainError as refusal:
        return _why(invoice, refusal.code, refusal.detail, ours=refusal.status >= 500)
    except invoice_documents.MAY_PASS:
        raise  # not the invoice's: every invoice after it would be named unrenderable
    except Exception as error:  # noqa: BLE001 - ours, named: the archive stays whole
        detail = f"{type(error).__name__}: {error}"
        return _why(invoice, invoice_documents.NOT_RENDERED, detail, ours=True)


def _why(invoice: Invoice, code: str, detail: str, *, ours: bool) -> tuple[str, bytes]:
    """``(<number>.error.txt, why)``, logged while the error is handled (one of ours with its
    traceback)."""
    logger.log(
        logging.ERROR if ours else logging.WARNING,
        "invoice %s has no PDF in the export: %s",
        invoice.number,
        code,
        exc_info=ours,
    )
    why = f"{invoice.number}: no PDF could be made ({code}): {detail}\n"
    return f"{invoice.number}.error.txt", why.encode()


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    moment = moment.astimezone(UTC)
    return (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, 0)
