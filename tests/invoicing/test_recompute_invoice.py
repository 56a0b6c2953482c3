"""manage.py recompute_invoice N rebuilds an invoice from its rollups and says what differs."""

import pytest
from django.core.management import CommandError, call_command

from billing import invoicing
from billing.models import Invoice, UsageHour
from tests.invoicing.conftest import JAN


@pytest.fixture
def issued(customer):
    customer.account()
    ent = customer.metered()
    customer.ran(ent, JAN, 4)
    (pk,) = invoicing.close_billing_period(JAN).created
    return customer, ent, invoicing.finalize_invoice(Invoice.objects.get(pk=pk))


def test_untouched_rollups_match(issued, capsys):
    _, _, invoice = issued
    call_command("recompute_invoice", invoice.number)
    assert f"{invoice.number}: matches its rollups (digest {invoice.rollup_digest})" in (
        capsys.readouterr().out
    )


def test_a_changed_rollup_is_reported_with_a_failing_exit(issued, capsys):
    customer, _, invoice = issued
    UsageHour.objects.filter(tenant=customer.tenant, hour=JAN).update(seconds=1800)
    with pytest.raises(CommandError, match="differs") as failed:
        call_command("recompute_invoice", str(invoice.pk))
    assert failed.value.returncode == 1
    out = capsys.readouterr().out
    assert "rollup digest" in out
    assert "stored 400 (14400 s), rebuilt 350 (12600 s)" in out


def test_an_unknown_invoice_is_an_error(db):
    with pytest.raises(CommandError, match="No invoice") as failed:
        call_command("recompute_invoice", "EP-2026-999999")
    assert failed.value.returncode == 2
