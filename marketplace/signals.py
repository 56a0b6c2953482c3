"""Signals other apps listen to, sent inside the transaction of the change.

``order_refunded(sender=Order, order_id=..., actor=..., request=...)``: a one-time order was
refunded in full (finance in the admin, or Stripe's ``charge.refunded``). Billing answers with
the credit note of the order's invoice when that invoice is finalized already
(``billing.invoicing.credit_refund``), else None; ``marketplace.orders`` reports it."""

from django.dispatch import Signal

order_refunded = Signal()
