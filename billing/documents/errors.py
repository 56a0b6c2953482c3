"""Refusals of the invoice documents package, each with its stable code."""

from edgeplug.errors import DomainError


class InvalidInvoiceDocument(DomainError, code="invalid_invoice_document", status=422):
    """The document's data cannot make a correct invoice (totals, parties, units...)."""


class EInvoiceRejected(DomainError, code="einvoice_rejected", status=500):
    """The Factur-X XML we built fails its XSD or the EN 16931 business rules: our bug, so
    nothing is rendered or sent."""

    def __init__(self, detail: str, *, failures: tuple[str, ...] = ()):
        super().__init__(detail)
        self.failures = failures

    def extra(self) -> dict:
        return {"failures": list(self.failures)}


class EInvoiceUnsupported(DomainError, code="einvoice_unsupported_currency", status=422):
    """EN 16931 cannot state this currency's amounts (more than two decimals)."""
