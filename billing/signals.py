"""Signals other billing parts listen to, sent after the transaction commits.

``invoice_finalized(sender=Invoice, invoice_id=...)``: an invoice or credit note got its
number; documents (PDF, email) and payment (PaymentIntent, dunning) start from here.

``default_card_set(sender=PaymentMethod, tenant_id=...)``: a tenant has a new default card
(saved as its first card, or chosen as default), sent inside the transaction that set it;
``billing.collection`` then tries the tenant's unpaid invoices on it once that commits."""

from django.dispatch import Signal

invoice_finalized = Signal()
default_card_set = Signal()
