"""``make bench-invoices``: invoice PDF rendering throughput, in invoices per second.

Renders ``--count`` invoices (each different: number, buyer, usage) the way the email task
does: HTML from the template, PDF/A-3b by WeasyPrint, the Factur-X XML built, checked (XSD
and the EN 16931 schematron) and embedded. One process, one thread; the first invoice is
timed apart (it compiles the schematron and loads the fonts). Prints a table and writes JSON
(``var/bench/invoices_pdf.json`` by default). The issue sets no goal for this figure, so none
is printed; nothing here asserts a time. ``python -m benchmarks.invoices_pdf --help``.
"""

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import django

from benchmarks.web.cli import commit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edgeplug.settings")
django.setup()

from billing.documents import facturx_xml, render_html, render_pdf  # noqa: E402
from billing.documents.document import (  # noqa: E402
    DocumentLine,
    InvoiceDocument,
    Party,
    vat_amount,
)
from edgeplug.core.commands import whole_number  # noqa: E402
from tests.invoices.documents import SELLER  # noqa: E402 - the seller the tests render

TIERS = ((Decimal(100), Decimal(10)), (Decimal(1000), Decimal(7)), (None, Decimal(4)))


def sample_invoice(index: int, entitlements: int) -> InvoiceDocument:
    """A tenant's month: one graduated agent-hour line per entitlement plus a flat fee."""
    lines = []
    for agent in range(entitlements):
        hours = Decimal(37 * (index + 1) + 211 * agent) + Decimal("0.25")
        slices, lower = [], Decimal(0)
        for up_to, unit_amount in TIERS:
            if hours <= lower:
                break
            upper = hours if up_to is None else min(hours, up_to)
            precise = (upper - lower) * unit_amount
            slices.append(
                {
                    "tier": f"{lower}-{'' if up_to is None else up_to}",
                    "quantity": str(upper - lower),
                    "unit_amount": str(unit_amount),
                    "amount": int(precise.quantize(Decimal(1), rounding=ROUND_HALF_UP)),
                }
            )
            lower = upper if up_to is None else up_to
        amount = sum(s["amount"] for s in slices)
        lines.append(
            DocumentLine(
                description=f"Agent-hours, agent {agent + 1} (graduated)",
                quantity=hours,
                unit="agent-hour",
                unit_amount=(Decimal(amount) / hours).quantize(Decimal("0.0001")),
                amount=amount,
                breakdown=tuple(slices),
            )
        )
    lines.append(DocumentLine("Monthly platform fee", Decimal(1), "month", Decimal(4900), 4900))
    subtotal = sum(line.amount for line in lines)
    tax = vat_amount(subtotal, Decimal(20))
    return InvoiceDocument(
        kind="invoice",
        number=f"EP-2026-{index + 1:06d}",
        issue_date=date(2026, 8, 1),
        period_start=date(2026, 7, 1),
        period_end=date(2026, 7, 31),
        due_date=date(2026, 8, 31),
        currency="EUR",
        seller=SELLER,
        buyer=Party(
            legal_name=f"Tenant {index + 1} GmbH",
            address_lines=(f"Werkstraße {index + 1}",),
            postcode="10115",
            city="Berlin",
            country="DE",
            tax_id=f"DE{100000000 + index}",
            emails=(f"ap{index}@tenant.example",),
        ),
        lines=tuple(lines),
        tax_rate=Decimal(20),
        reverse_charge=False,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
    )


def _timed(function, documents) -> list[float]:
    seconds = []
    for doc in documents:
        start = time.perf_counter()
        function(doc)
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # At least one of each (COUNT=0 ended in an IndexError after the warm-up).
    parser.add_argument(
        "--count", type=whole_number(1), default=50, help="invoices to render (default 50)"
    )
    parser.add_argument("--lines", type=whole_number(1), default=3, help="entitlements per invoice")
    parser.add_argument("--out", type=Path, default=Path("var/bench/invoices_pdf.json"))
    args = parser.parse_args(argv)

    documents = [sample_invoice(i, args.lines) for i in range(args.count + 1)]
    first_s = _timed(render_pdf, documents[:1])[0]
    warm = documents[1:]
    html_s = _timed(render_html, warm)
    xml_s = _timed(facturx_xml, warm)
    start, cpu_start = time.perf_counter(), time.process_time()
    pdf_s = _timed(render_pdf, warm)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    pdf_bytes = len(render_pdf(warm[0]))

    result = {
        "benchmark": "invoices_pdf",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "count": len(warm),
        "lines_per_invoice": args.lines + 1,
        "first_invoice_s": round(first_s, 3),
        "invoices_per_second": round(len(warm) / wall, 2),
        # CPU seconds of this process per invoice: the figure to compare on a busy machine.
        "cpu_s_per_invoice": round(cpu / len(warm), 3),
        "pdf_p50_ms": round(statistics.median(pdf_s) * 1000, 1),
        "pdf_max_ms": round(max(pdf_s) * 1000, 1),
        "html_p50_ms": round(statistics.median(html_s) * 1000, 1),
        "xml_checked_p50_ms": round(statistics.median(xml_s) * 1000, 1),
        "pdf_bytes": pdf_bytes,
        "goal": None,
    }
    rows = [
        ("PDF/A-3 + Factur-X, invoices/second", f"{result['invoices_per_second']}", "none set"),
        ("  CPU per invoice (this process)", f"{result['cpu_s_per_invoice']} s", ""),
        ("  one PDF, p50 / max", f"{result['pdf_p50_ms']} / {result['pdf_max_ms']} ms", ""),
        ("  of which: HTML from the template, p50", f"{result['html_p50_ms']} ms", ""),
        ("  of which: XML built + XSD + schematron", f"{result['xml_checked_p50_ms']} ms", ""),
        ("first invoice (schematron compile, fonts)", f"{result['first_invoice_s']} s", ""),
        ("PDF size", f"{pdf_bytes // 1024} KiB", ""),
    ]
    print(
        f"Invoice PDF rendering — {result['count']} invoices of {args.lines + 1} lines, "
        f"one process, {os.cpu_count()} CPUs"
    )
    width = max(len(name) for name, _, _ in rows)
    print(f"{'figure':<{width}}  {'measured':>18}  goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:>18}  {goal}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"JSON: {args.out}")
    return result


if __name__ == "__main__":
    main()
