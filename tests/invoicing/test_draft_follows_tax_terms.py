"""A draft follows its tenant's tax terms until it is finalized: the billing member's first
billing account, a new rate or reverse charge shows at once on the draft's tax and total, in
the API and finance's export of drafts, as finalizing then issues it (until 2026-12-06 the
draft kept the terms of its close until it was finalized)."""

import csv
import io

import pytest

from billing import exports, invoicing
from billing.models import Invoice
from edgeplug.audit.models import AuditEvent
from tests.invoicing.conftest import ACCOUNT, JAN

pytestmark = pytest.mark.django_db


def test_a_draft_takes_its_account_s_new_tax_terms_at_once(customer, member_client):
    customer.ran(customer.metered(), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created  # no billing account yet: no tax
    api, _ = member_client("billing", tenant=customer.tenant)

    def terms(**account) -> tuple:
        answer = api.put("/api/v1/billing/account", ACCOUNT | account, format="json")
        assert answer.status_code in (200, 201), answer.json()
        shown = api.get(f"/api/v1/invoices/{pk}").json()
        (row,) = csv.DictReader(
            io.StringIO(b"".join(exports.invoices_csv(JAN, include_drafts=True)).decode())
        )
        assert (row["tax"], row["total"]) == (
            f"{shown['tax'] / 100:.2f}",
            f"{shown['total'] / 100:.2f}",
        )
        preview = invoicing.finalize_previews([Invoice.objects.get(pk=pk)])[pk]
        assert preview.total == shown["total"]  # what finalizing would issue
        return shown["tax_rate"], shown["reverse_charge"], shown["tax"], shown["total"]

    subtotal = Invoice.objects.get(pk=pk).subtotal
    vat = round(subtotal * 0.19)
    assert terms(tax_rate="19.00") == ("19.00", False, vat, subtotal + vat)
    assert terms(tax_rate="19.00", reverse_charge=True)[1:] == (True, 0, subtotal)
    assert terms(tax_rate="7.00")[2] == round(subtotal * 0.07)
    terms(tax_rate="7.00")  # the same terms again: the draft is left as it is
    retaxed = AuditEvent.objects.filter(action="invoice_draft_retaxed", details__invoice=pk)
    assert retaxed.count() == 3


def test_the_close_gives_a_draft_whose_lines_are_unchanged_the_terms_it_missed(customer):
    """An account changed while the close that made the draft ran (the account's change does
    not see a draft not yet committed): the next close takes its terms into the draft."""
    customer.ran(customer.metered(), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created  # no billing account yet: no tax
    customer.account()  # 19 %, written past the account's action as the race leaves it
    again = invoicing.close_billing_period(JAN)
    assert (again.updated, again.unchanged) == ([pk], [])
    draft = Invoice.objects.get(pk=pk)
    assert (str(draft.tax_rate), draft.total) == ("19.00", draft.subtotal + draft.tax)
    assert draft.tax == invoicing.finalize_previews([draft])[pk].total - draft.subtotal > 0
    assert invoicing.close_billing_period(JAN).unchanged == [pk]  # and then it is left alone
