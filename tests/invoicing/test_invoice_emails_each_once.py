"""Each mailbox of an account's invoice emails is written to once: an address given again in
another case or with its domain spelt otherwise is kept once when the account is set
(tests/invoicing/test_invoice_api.py), an account stored before that rule is cleaned by
billing 0018 (case) and 0023 (domain), and whoever is emailed about an invoice is asked by
``invoice_recipients``, which keeps each once whatever it reads."""

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
# One mailbox, its domain in Unicode and in punycode.
DOMAIN_TWICE = ["ap@bücher.example", "ap@xn--bcher-kva.example", "Finance@acme.example"]
DOMAIN_ONCE = ["ap@bücher.example", "Finance@acme.example"]
# One mailbox, as the email validator reads İ (normalize_email: i; casefold: i and a dot).
DOTTED_TWICE = ["ilker@acme.example", "\u0130lker@acme.example"]
DOTTED_ONCE = ["ilker@acme.example"]


@pytest.mark.parametrize(
    ("stored", "once"), [(TWICE, ONCE), (DOMAIN_TWICE, DOMAIN_ONCE)], ids=["case", "domain"]
)
def test_an_account_stored_with_a_mailbox_twice_is_emailed_once(customer, stored, once):
    """Stored before the rule, the account got every invoice twice."""
    customer.account(invoice_emails=stored)
    customer.ran(customer.metered(since=JAN), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    invoice = invoicing.finalize_invoice(invoicing.Invoice.objects.get(pk=pk))
    assert invoice_recipients(invoice) == once
    BillingAccount.objects.all().delete()  # the addresses it was issued to, kept in its snapshot
    assert invoice_recipients(invoice) == once


@pytest.mark.parametrize(
    ("before", "migration", "twice", "once"),
    [
        ("0017_money_to_give_back", "0018_invoice_emails_each_once", TWICE, ONCE),
        (
            "0022_removed_payment_method",
            "0023_invoice_email_domains_each_once",
            DOMAIN_TWICE,
            DOMAIN_ONCE,
        ),
        (
            "0022_removed_payment_method",
            "0023_invoice_email_domains_each_once",
            DOTTED_TWICE,
            DOTTED_ONCE,
        ),
    ],
    ids=["case", "domain", "dotted-i"],
)
def test_the_migration_keeps_each_stored_mailbox_once(before, migration, twice, once):
    tenant, other = TenantFactory(), TenantFactory()
    with migrated_back("billing", before) as migrator:
        old = migrator.old_model("BillingAccount")
        common = {"legal_name": "Acme", "address_line1": "1 Road", "city": "Hamburg"}
        old.objects.create(tenant_id=tenant.pk, invoice_emails=twice, **common)
        old.objects.create(tenant_id=other.pk, invoice_emails=once, **common)
        migrator.forward(migration)
        assert BillingAccount.objects.get(tenant=tenant).invoice_emails == once
        assert BillingAccount.objects.get(tenant=other).invoice_emails == once
