"""Finance's adjustment form sent twice (a double-click the page's script did not stop, a
page restored from the browser's history sent again) adds its line once: the form carries a
one-time token made when it is shown, the line records it (one line per token and invoice,
a database constraint), and the second sending adds nothing and says so. Both were added
before, and an adjustment is never taken off: only another line could cancel the second."""

from uuid import uuid4

import pytest
from django.db import IntegrityError, transaction
from lxml import html

from billing import invoicing
from billing.errors import AdjustmentAlreadyAdded
from billing.models import InvoiceLine, LineKind
from edgeplug.audit.models import AuditEvent
from tests.concurrency import needs_row_locks, race
from tests.conftest import send_form
from tests.invoicing.conftest import adjust_in_admin

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"
WORKSHOP = {"description": "Workshop", "amount": "5.00"}


def _adjustments(invoice) -> list[int]:
    return list(invoice.lines.filter(kind=LineKind.ADJUSTMENT).values_list("amount", flat=True))


def _said(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_same_adjustment_form_sent_twice_adds_one_line(admin_session, draft):
    client, _ = admin_session("finance")
    page = client.get(f"{URL}{draft.pk}/change/")

    first = send_form(client, page, "adjust-form", WORKSHOP, follow=True)
    again = send_form(client, page, "adjust-form", WORKSHOP, follow=True)

    assert _said(first) == ["Adjustment of 5.00 EUR added."]
    [(landed, status)] = again.redirect_chain
    assert (landed, status) == (f"{URL}{draft.pk}/change/", 302)
    assert _said(again) == [
        "This adjustment was already added (Workshop, 5.00 EUR): its form was sent twice, "
        "and nothing was added the second time."
    ]
    assert _adjustments(draft) == [500]
    assert AuditEvent.objects.filter(action="invoice_adjusted").count() == 1
    # Not shown again as typed, as a refused form is: there is nothing to send again.
    form = html.fromstring(again.content).get_element_by_id("adjust-form")
    assert form.get_element_by_id("id_adjust_description").get("value") == ""


def test_a_discount_sent_twice_is_told_added_not_below_zero(admin_session, draft):
    """The first sending took the draft to zero; the second is the same line, not a second
    discount to refuse as below zero."""
    client, _ = admin_session("finance")
    page = client.get(f"{URL}{draft.pk}/change/")
    discount = {"description": "Goodwill", "amount": f"-{draft.subtotal / 100:.2f}"}

    send_form(client, page, "adjust-form", discount, follow=True)
    again = send_form(client, page, "adjust-form", discount, follow=True)

    assert _said(again)[0].startswith("This adjustment was already added (Goodwill, -")
    assert _adjustments(draft) == [-draft.subtotal]


def test_each_time_the_form_is_shown_it_adds_its_own_line(admin_session, draft):
    """A second line on purpose (the page loaded again, the form filled again) is added."""
    client, _ = admin_session("finance")

    adjust_in_admin(client, draft, "Workshop", "5.00")
    added = adjust_in_admin(client, draft, "Workshop", "5.00", follow=True)

    assert _said(added) == ["Adjustment of 5.00 EUR added."]
    assert _adjustments(draft) == [500, 500]
    assert AuditEvent.objects.filter(action="invoice_adjusted").count() == 2


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_an_adjustment_sent_without_its_form_token_is_refused(admin_session, draft, token):
    """A form from before the token (a page left open), or one not from the page: it could
    not be told from a second sending. Refused, what was typed kept in a form that has one."""
    client, _ = admin_session("finance")
    sent = WORKSHOP if token is None else {**WORKSHOP, "form_token": token}

    refused = client.post(f"{URL}{draft.pk}/adjust/", sent, follow=True)

    refusal = html.fromstring(refused.content).get_element_by_id("adjust-refusal")
    assert "was sent without its one-time token: nothing was added" in refusal.text_content()
    assert _adjustments(draft) == []
    assert not AuditEvent.objects.filter(action="invoice_adjusted").exists()

    send_form(client, refused, "adjust-form")

    assert _adjustments(draft) == [500]


def test_the_database_takes_one_line_per_form_token_and_invoice(draft):
    token = uuid4()
    line = invoicing.add_adjustment_line(
        draft, description="Workshop", amount=500, form_token=token
    )
    copy = {
        field: getattr(line, field)
        for field in ("invoice", "kind", "description", "amount", "period_start", "period_end")
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.create(**copy, form_token=token)


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_sendings_of_one_form_at_once_add_one_line(draft):
    token = uuid4()

    def send(_) -> str:
        try:
            invoicing.add_adjustment_line(
                draft, description="Workshop", amount=500, form_token=token
            )
        except AdjustmentAlreadyAdded:
            return "already added"
        return "added"

    assert sorted(race(send, range(3))) == ["added", "already added", "already added"]
    assert _adjustments(draft) == [500]
