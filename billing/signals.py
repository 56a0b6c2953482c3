"""Signals other billing parts listen to, sent after the transaction commits.

``invoice_finalized(sender=Invoice, invoice_id=...)``: an invoice or credit note got its
number; documents (PDF, email) and payment (PaymentIntent, dunning) start from here."""

from django.dispatch import Signal

invoice_finalized = Signal()
