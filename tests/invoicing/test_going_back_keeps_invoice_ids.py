"""A test that migrates billing back before its invoices (0003_invoices drops their tables) and
forward again leaves the invoice ids where they were, as a database whose sequences never go
back does: a later test's new invoice takes an id no invoice of this run had. Stripe keys name
an invoice by its id (``edgeplug-invoice-<id>-attempt-<n>``) and the session's localstripe
remembers every key it was sent, so an id given twice reached it as the same key with other
parameters (``idempotency_error``), and the first charge of that later invoice never ran."""

from billing import invoicing
from billing.models import Invoice
from tests.invoicing.conftest import FEB, JAN
from tests.migrations import migrating_billing_back_to, refusal_going_back

pytestmark = migrating_billing_back_to("0002")

BEFORE_INVOICES = "0002_usage_metering"


def test_an_invoice_made_after_billing_went_back_and_forward_takes_a_new_id(customer):
    customer.account()
    plan = customer.metered()
    customer.ran(plan, JAN, 3)
    (earlier,) = invoicing.close_billing_period(JAN).created

    assert refusal_going_back("billing", BEFORE_INVOICES) is None

    assert not Invoice.objects.exists()  # the tables were dropped and made again
    customer.account()
    customer.ran(plan, FEB, 2)
    (later,) = invoicing.close_billing_period(FEB).created
    assert later > earlier
