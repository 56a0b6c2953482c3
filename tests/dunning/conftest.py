"""Payment and dunning fixtures: a customer tenant (signed-in API client, billing account,
saved card at localstripe) with a metered entitlement, its January usage and its draft; the
clock (time-machine) starts on 4 February 2026 09:00 UTC, when the draft finalizes."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from billing import invoicing
from billing.models import Invoice, InvoiceStatus, StripeCustomer
from marketplace.models import Entitlement
from tests.commerce.conftest import (  # noqa: F401 - fixtures used by these tests
    agent,
    certificate,
    localstripe,
    processor,
    published,
    save_card,
    stripe_client,
    stripe_on,
)
from tests.invoicing.conftest import JAN, Customer, broker_refuses, vendor_tenant  # noqa: F401

FINALIZED_AT = datetime(2026, 2, 4, 9, tzinfo=UTC)
DECLINED = "4000000000000341"  # saves, then every charge is declined
NEEDS_3DS = "4000002760003184"  # every charge waits for the card holder to authenticate
GOOD = "4242424242424242"
TOTAL = 1428  # 10.00 fee + 2 h x 1.00, plus 19 % VAT, in cents


@pytest.fixture
def clock():
    with time_machine.travel(FINALIZED_AT, tick=False) as traveller:
        yield traveller


def days(n: float) -> datetime:
    return FINALIZED_AT + timedelta(days=n)


@pytest.fixture
def payer(clock, member_client, vendor_tenant, stripe_on):  # noqa: F811
    """make(card=GOOD or None, agent=None) -> a Customer with ``api`` and a January draft."""

    def make(card=GOOD, agent=None):  # noqa: F811
        api, membership = member_client("admin")
        customer = Customer(membership.tenant, agent.tenant if agent else vendor_tenant)
        customer.api, customer.user = api, membership.user
        customer.account()
        if card:
            save_card(api, card)
        customer.entitlement = customer.metered(agent=agent)
        customer.ran(customer.entitlement, JAN, 2)
        (pk,) = invoicing.close_billing_period(JAN).created
        customer.draft = Invoice.objects.get(pk=pk)
        return customer

    return make


@pytest.fixture
def finalize(eager_celery, django_capture_on_commit_callbacks):
    """Finalize as the beat job does: the charge is the Celery task queued on commit."""

    def run(invoice):
        with django_capture_on_commit_callbacks(execute=True):
            invoicing.finalize_invoice(invoice)
        return Invoice.objects.get(pk=invoice.pk)

    return run


@pytest.fixture
def invoiced(payer, finalize):
    """make(card=GOOD or None, agent=None) -> (Customer, its January invoice finalized, charge
    attempted)."""

    def make(card=GOOD, agent=None):  # noqa: F811
        customer = payer(card=card, agent=agent)
        return customer, finalize(customer.draft)

    return make


@pytest.fixture
def committed(eager_celery, django_capture_on_commit_callbacks):
    """Run ``fn`` and then what it queued for after the commit (notices, charges)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def intents_of(tenant) -> list:
    """The PaymentIntents localstripe holds for the tenant's customer, by attempt."""
    customer = StripeCustomer.objects.get(tenant=tenant).customer_id
    listed = stripe_client().v1.payment_intents.list(params={"limit": 100})
    found = [intent for intent in listed.auto_paging_iter() if intent.customer == customer]
    return sorted(found, key=lambda intent: int(intent.metadata.to_dict().get("attempt") or 0))


def processing(invoice) -> Invoice:
    """The state ``_attempt`` leaves while an attempt is awaited (Stripe said processing)."""
    Invoice.objects.filter(pk=invoice.pk).update(
        next_payment_attempt_at=None, payment_failure_code="", payment_failure_detail=""
    )
    assert Invoice.objects.awaiting_outcome().filter(pk=invoice.pk).exists()
    return Invoice.objects.get(pk=invoice.pk)


INVOICES = "/admin/billing/invoice/"


def credit_fee(finance, invoice, **post):
    """Finance credits the invoice's monthly fee on its admin page (``finance``: a client
    signed in to the admin as finance); the answer (``post``: ``follow=True`` …)."""
    fee = invoice.lines.get(kind="flat_fee")
    return finance.post(
        f"{INVOICES}{invoice.pk}/credit/", {"line": [fee.pk], "reason": "fee waived"}, **post
    )


def pay_with_new_card(customer, committed):
    """The customer saves a good card and makes it the default, as the API's client does:
    its unpaid invoices are charged on it (``schedule_on_new_card``). Its API client."""
    api = signed_in(customer)
    card = committed(save_card, api, GOOD)
    committed(api.post, f"/api/v1/billing/payment-methods/{card['id']}/default")
    return api


def signed_in(customer):
    """The customer's API client signed in again (its access token ages with the clock)."""
    from rest_framework.test import APIClient

    from tests.conftest import sign_in

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, customer.user)['access']}")
    return api


class _Notices:
    """The payment notices in Django's test outbox: every message but the invoice's own
    email (the one with its PDF attached, sent on finalize), which tests/invoicing covers."""

    def __init__(self, outbox):
        self._outbox = outbox

    def _messages(self) -> list:
        return [m for m in self._outbox if not m.attachments]

    def __iter__(self):
        return iter(self._messages())

    def __len__(self) -> int:
        return len(self._messages())

    def __getitem__(self, index):
        return self._messages()[index]

    def __eq__(self, other) -> bool:
        return self._messages() == list(other)


@pytest.fixture
def notices(mailoutbox):
    return _Notices(mailoutbox)


@pytest.fixture
def uncollectible(invoiced, settings):
    """A customer whose card is declined, with no retries: the invoice is uncollectible at
    once and the tenant's entitlement suspended."""
    settings.BILLING_DUNNING_DAYS = []
    customer, invoice = invoiced(card=DECLINED)
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    assert Entitlement.objects.get(pk=customer.entitlement.pk).status == "suspended"
    return customer, invoice


def twin_of(invoice) -> Invoice:
    """A second finalized invoice of the tenant (another currency), made uncollectible."""
    twin = Invoice.objects.create(
        tenant=invoice.tenant,
        currency="USD",
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        finalize_after=invoice.finalize_after,
    )
    twin.lines.create(
        kind="adjustment",
        description="services",
        amount=500,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
    )
    invoicing.finalize_invoice(twin)
    Invoice.objects.filter(pk=twin.pk).update(status=InvoiceStatus.UNCOLLECTIBLE)
    return Invoice.objects.get(pk=twin.pk)


MONEY_TO_GIVE_BACK = "/admin/billing/moneytogiveback/"


def rows_of(page: str) -> list[list[str]]:
    """The admin change list's rows, each as its cells' text (not the action checkbox)."""
    from lxml import html

    table = html.fromstring(page).find('.//table[@id="result_list"]')
    if table is None:  # the admin shows no table when nothing is listed
        return []
    return [
        [
            cell.text_content().strip()
            for cell in row.xpath('./td[not(contains(@class, "action-checkbox"))]|./th')
        ]
        for row in table.xpath("./tbody/tr")
    ]
