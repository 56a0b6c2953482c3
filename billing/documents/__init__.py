"""Invoice and credit-note documents: HTML, PDF/A-3 with the EN 16931 (Factur-X) XML
embedded, and the email that carries them. See docs/invoices.md."""

from billing.documents.cii import facturx_xml
from billing.documents.document import DocumentLine, InvoiceDocument, Party
from billing.documents.mail import send_invoice_email
from billing.documents.rendering import render_html, render_pdf

__all__ = [
    "DocumentLine",
    "InvoiceDocument",
    "Party",
    "facturx_xml",
    "render_html",
    "render_pdf",
    "send_invoice_email",
]
