"""Invoice and credit-note documents: HTML, PDF/A-3 with the EN 16931 (Factur-X) XML
embedded, and the email that carries them. See docs/invoices.md."""

from importlib import import_module

from billing.documents.document import DocumentLine, InvoiceDocument, Party

# Rendering loads WeasyPrint, fontTools, Pillow and the Factur-X/lxml/Saxon stack: tens of MB.
# The web process imports this package through its URL conf but renders a PDF only when one
# is asked for, so those modules load on first use (as the Celery worker's do).
_LAZY = {
    "facturx_xml": "billing.documents.cii",
    "render_html": "billing.documents.rendering",
    "render_pdf": "billing.documents.rendering",
    "send_invoice_email": "billing.documents.mail",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DocumentLine",
    "InvoiceDocument",
    "Party",
    "facturx_xml",
    "render_html",
    "render_pdf",
    "send_invoice_email",
]
