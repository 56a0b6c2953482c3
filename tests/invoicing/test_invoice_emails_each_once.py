"""Each mailbox of an account's invoice emails is written to once: an address given again in
another case is kept once when the account is set (tests/invoicing/test_invoice_api.py), an
account stored before that rule is cleaned by billing 0018, and whoever is emailed about an
invoice is asked by ``invoice_recipients``, which keeps each once whatever it reads."""

import pytest

from billing import invoicing
from billing.invoice_documents import invoice_recipients
from billing.models import BillingAccount
from tests.factories import TenantFactory
from tests.invoicing.conftest import JAN
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db

TWICE = ["ap@acme.example", "Finance@acme.example", "AP@acme.example"]
ONCE = ["ap@acme.example", "Finance@acme.example"]


def test_an_account_stored_with_a_mailbox_twice_is_emailed_once(customer):
    """Stored before the rule, the account got every invoice twice."""
    customer.account(invoice_emails=TWICE)
    customer.ran(customer.metered(since=JAN), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    invoice = invoicing.finalize_invoice(invoicing.Invoice.objects.get(pk=pk))
    assert invoice_recipients(invoice) == ONCE
    BillingAccount.objects.all().delete()  # the addresses it was issued to, kept in its snapshot
    assert invoice_recipients(invoice) == ONCE


def test_the_migration_keeps_each_stored_mailbox_once():
    tenant, other = TenantFactory(), TenantFactory()
    with migrated_back("billing", "0017_money_to_give_back") as migrator:
        old = migrator.old_model("BillingAccount")
        common = {"legal_name": "Acme", "address_line1": "1 Road", "city": "Hamburg"}
        old.objects.create(tenant_id=tenant.pk, invoice_emails=TWICE, **common)
        old.objects.create(tenant_id=other.pk, invoice_emails=ONCE, **common)
        migrator.forward("0018_invoice_emails_each_once")
        assert BillingAccount.objects.get(tenant=tenant).invoice_emails == ONCE
        assert BillingAccount.objects.get(tenant=other).invoice_emails == ONCE
