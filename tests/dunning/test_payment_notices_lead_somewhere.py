"""A payment notice asks its billing contact to act, and gives them what works: the absolute
address of the payment methods (``PUBLIC_BASE_URL``; a mail has no host to take one from) and of
the API's reference, and a Reply-To to the seller's billing mailbox, as the invoice's own email
has (the sender is a no-reply address). The uncollectible notice says what really pays the
invoice (a new default card is charged at once: docs/billing.md, *A card saved later*), and
invites a reply only when there is someone to answer it. Until 2026-12-07 the notices named a
bare path (``/api/v1/billing/payment-methods``), had no Reply-To, and the uncollectible one
said "ask us to retry"."""

import re

import pytest

from billing.models import InvoiceStatus
from tests.dunning.conftest import DECLINED
from tests.processes import python_with_settings

pytestmark = pytest.mark.django_db

BASE = "https://marketplace.example.com"
PAYMENT_METHODS = f"{BASE}/api/v1/billing/payment-methods"
API_DOCS = f"{BASE}/api/v1/docs/"


@pytest.fixture
def public(settings):
    settings.PUBLIC_BASE_URL = BASE
    return settings


@pytest.fixture
def notice_of(invoiced, notices, public):
    """notice_of(card, *dunning_days) -> (the invoice, its one payment notice)."""

    def make(card, *dunning_days):
        public.BILLING_DUNNING_DAYS = list(dunning_days)
        _, invoice = invoiced(card=card)
        (notice,) = notices
        return invoice, notice

    return make


def bare_paths(body: str) -> list[str]:
    return re.findall(r"(?<![\w/:.])/api/v1/\S*", body)


@pytest.mark.parametrize(
    ("card", "dunning_days", "status"),
    [
        (None, (), InvoiceStatus.OPEN),  # no card on file
        (DECLINED, (1, 3), InvoiceStatus.PAYMENT_FAILED),
        (DECLINED, (), InvoiceStatus.UNCOLLECTIBLE),
    ],
)
def test_a_notice_links_the_payment_methods_and_is_answered_to_the_seller(
    notice_of, clock, settings, card, dunning_days, status
):
    invoice, notice = notice_of(card, *dunning_days)
    assert invoice.status == status
    assert PAYMENT_METHODS in notice.body and API_DOCS in notice.body
    assert bare_paths(notice.body) == []
    assert notice.from_email == settings.DEFAULT_FROM_EMAIL
    assert notice.reply_to == [settings.BILLING_SELLER_EMAIL]


def test_the_uncollectible_notice_says_what_pays_it(notice_of, clock):
    _, notice = notice_of(DECLINED)
    assert "ask us" not in notice.body
    assert "make a working card your default" in notice.body
    assert "charged at once" in notice.body
    assert "Questions: reply to this email." in notice.body


def test_without_a_seller_mailbox_no_notice_invites_a_reply(notice_of, clock, settings):
    settings.BILLING_SELLER = {**settings.BILLING_SELLER, "invoice_emails": []}
    _, notice = notice_of(DECLINED)
    assert notice.reply_to == []
    assert "reply" not in notice.body.lower()


BASE_URL = "from django.conf import settings; print(settings.PUBLIC_BASE_URL)"


@pytest.mark.parametrize(
    ("value", "read"),
    [
        (None, "http://127.0.0.1:8000"),  # make run's
        (" https://marketplace.example.com/ ", "https://marketplace.example.com"),
        ("http://10.0.0.5:8080", "http://10.0.0.5:8080"),
    ],
)
def test_the_public_address_is_read_from_the_environment(tmp_path, value, read):
    env = {} if value is None else {"PUBLIC_BASE_URL": value}
    started = python_with_settings(tmp_path, BASE_URL, **env)
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.strip() == read


@pytest.mark.parametrize(
    "value",
    [
        "marketplace.example.com",
        "ftp://marketplace.example.com",
        "https://marketplace.example.com/edgeplug",
        "https://marketplace.example.com/?a=1",
        "https://user:pw@marketplace.example.com",
    ],
)
def test_a_public_address_links_cannot_be_made_of_stops_the_service(tmp_path, value):
    started = python_with_settings(tmp_path, "import django; django.setup()", PUBLIC_BASE_URL=value)
    assert started.returncode != 0
    assert "PUBLIC_BASE_URL must be an http or https address with no path" in started.stderr, (
        started.stderr[-2000:]
    )
