"""A credit note for chosen lines needs at least one line, each named by its id: the rule is
the action's, so every door (the admin's form, a caller of ``issue_credit_note``) answers
the same named refusal, never "credited in full already" for lines nobody chose."""

import pytest

from billing import invoicing
from billing.errors import InvalidCreditLine, NoLinesChosen
from billing.models import Invoice, InvoiceKind

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"


def test_no_lines_chosen_is_refused_as_such(admin_session, draft):
    issued = invoicing.finalize_invoice(draft)
    client, _ = admin_session("finance")

    page = client.post(f"{URL}{issued.pk}/credit/", {"reason": "x"}, follow=True)

    assert b"Choose the lines to credit." in page.content
    with pytest.raises(NoLinesChosen) as refused:
        invoicing.issue_credit_note(issued, line_ids=[])
    assert (refused.value.code, refused.value.status) == ("no_lines_chosen", 400)
    assert refused.value.detail == "Choose the lines to credit."
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


@pytest.mark.parametrize("line", ["abc", "-1", "1.0", "²"])
def test_a_line_that_is_not_an_id_is_refused_as_such(admin_session, draft, line):
    issued = invoicing.finalize_invoice(draft)
    client, _ = admin_session("finance")

    page = client.post(f"{URL}{issued.pk}/credit/", {"line": [line]}, follow=True)

    assert b"Unknown line" in page.content
    with pytest.raises(InvalidCreditLine) as refused:
        invoicing.issue_credit_note(issued, line_ids=[line])
    assert (refused.value.code, refused.value.status) == ("invalid_line", 400)
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
