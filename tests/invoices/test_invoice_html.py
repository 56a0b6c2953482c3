"""The invoice page (the same template the PDF is made from) shows the invoice, escapes what
tenants typed, and leaves no template variable unresolved."""

from dataclasses import replace

import pytest

from billing.documents import render_html
from tests.invoices.documents import BUYER, invoice

INVALID_MARKER = "UNRESOLVED-TEMPLATE-VARIABLE"


@pytest.fixture(autouse=True)
def _visible_template_errors(settings):
    settings.TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = INVALID_MARKER


def test_the_page_shows_number_parties_lines_breakdown_and_totals():
    html = render_html(invoice())
    assert INVALID_MARKER not in html
    assert "<title>Invoice EP-2026-000042 · EdgePlug SAS</title>" in html
    assert "Acme Robotics GmbH" in html and "Werkstraße 5" in html
    assert "Monthly platform fee" in html and "49.00 EUR" in html
    assert "tier 0-100" in html and "tier 100-" in html
    assert "60.28 EUR" in html and "12.06 EUR" in html and "72.34 EUR" in html
    assert "VAT 20%" in html


def test_the_page_links_its_stylesheet_from_static_for_a_browser():
    html = render_html(invoice())
    assert '<link rel="stylesheet" href="/static/billing/invoice.css">' in html


def test_what_a_tenant_typed_is_escaped():
    buyer = replace(BUYER, legal_name='<script>alert("x")</script> Ltd')
    html = render_html(invoice(buyer=buyer))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Ltd" in html


def test_a_paid_invoice_says_nothing_is_due():
    html = render_html(invoice(paid=True))
    assert "Paid \N{EN DASH} nothing is due." in html
    assert INVALID_MARKER not in html
