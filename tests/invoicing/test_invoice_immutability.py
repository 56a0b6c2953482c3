"""A finalized invoice and its lines never change: refused in code and, on PostgreSQL, by
triggers; it is voided (only unpaid) or corrected by a credit note with its own series."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing import invoicing
from billing.errors import InvoiceImmutable, InvoiceNotCreditable, InvoiceNotVoidable
from billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from edgeplug.audit.models import AuditEvent
from tests.invoicing.conftest import JAN


@pytest.fixture
def issued(customer):
    customer.account(tax_rate="10.00")
    ent = customer.metered()
    customer.ran(ent, JAN, 12)
    (pk,) = invoicing.close_billing_period(JAN).created
    return invoicing.finalize_invoice(Invoice.objects.get(pk=pk))


def _sneaky_line(invoice) -> InvoiceLine:
    return InvoiceLine(
        invoice=invoice,
        kind=LineKind.ADJUSTMENT,
        description="sneaky",
        amount=1,
        period_start=JAN,
        period_end=JAN,
    )


def test_code_refuses_to_change_or_delete_a_finalized_invoice(issued):
    issued.total = 1
    with pytest.raises(InvoiceImmutable, match="total"):
        issued.save()
    fresh = Invoice.objects.get(pk=issued.pk)
    with pytest.raises(InvoiceImmutable):
        fresh.delete()
    line = fresh.lines.first()
    line.amount = 0
    with pytest.raises(InvoiceImmutable):
        line.save()
    with pytest.raises(InvoiceImmutable):
        line.delete()
    with pytest.raises(InvoiceImmutable):
        _sneaky_line(fresh).save()


def test_an_instance_loaded_as_a_draft_learns_it_was_finalized(customer):
    customer.account()
    customer.ran(customer.metered(), JAN, 1)
    (pk,) = invoicing.close_billing_period(JAN).created
    draft = Invoice.objects.get(pk=pk)
    invoicing.finalize_invoice(draft)
    draft.refresh_from_db()
    draft.subtotal = 0
    with pytest.raises(InvoiceImmutable):
        draft.save()


def test_lifecycle_fields_still_move(issued):
    issued.status = InvoiceStatus.PAYMENT_FAILED
    issued.payment_attempts = 1
    issued.save()
    assert Invoice.objects.get(pk=issued.pk).status == InvoiceStatus.PAYMENT_FAILED


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the triggers exist on PostgreSQL only"
)


@postgresql_only
@pytest.mark.parametrize(
    "change",
    [
        lambda i: Invoice.objects.filter(pk=i.pk).update(total=0, subtotal=0, tax=0),
        lambda i: Invoice.objects.filter(pk=i.pk).update(number="EP-2026-999999"),
        lambda i: Invoice.objects.filter(pk=i.pk).delete(),
        lambda i: InvoiceLine.objects.filter(invoice=i).update(amount=1),
        lambda i: InvoiceLine.objects.filter(invoice=i)._raw_delete(connection.alias),
    ],
    ids=["amounts", "number", "delete", "line-update", "line-delete"],
)
def test_postgresql_trigger_refuses_what_bypasses_the_models(issued, change):
    with pytest.raises(IntegrityError, match="finalized"), transaction.atomic():
        change(issued)
    assert Invoice.objects.get(pk=issued.pk).number == issued.number


@postgresql_only
def test_postgresql_trigger_refuses_raw_sql_and_lets_status_move(issued):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_invoice SET account_snapshot = '{}' WHERE id = %s", [issued.pk]
        )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_invoice SET status = 'paid' WHERE id = %s", [issued.pk])
    assert Invoice.objects.get(pk=issued.pk).status == "paid"


def test_void_only_when_unpaid(issued, make_customer):
    voided = invoicing.void_invoice(issued, reason="wrong tenant")
    assert voided.status == InvoiceStatus.VOID and voided.number == issued.number
    assert AuditEvent.objects.filter(action="invoice_voided").exists()
    with pytest.raises(InvoiceNotVoidable):
        invoicing.void_invoice(voided, reason="again")


def test_paid_invoice_cannot_be_voided(issued):
    Invoice.objects.filter(pk=issued.pk).update(status=InvoiceStatus.PAID)
    with pytest.raises(InvoiceNotVoidable):
        invoicing.void_invoice(issued, reason="no")


def test_credit_note_for_chosen_lines_then_the_rest_has_its_own_series(issued):
    fee = issued.lines.get(kind=LineKind.FLAT_FEE)
    note = invoicing.issue_credit_note(issued, line_ids=[fee.pk], reason="fee waived")
    assert note.number.startswith("CN-") and note.number.endswith("-000001")
    assert note.kind == InvoiceKind.CREDIT_NOTE and note.credit_of_id == issued.pk
    assert note.subtotal == -1000 and note.tax == -100 and note.total == -1100
    assert note.status == InvoiceStatus.PAID
    assert note.account_snapshot == issued.account_snapshot
    with pytest.raises(InvoiceNotCreditable, match="in full"):
        invoicing.issue_credit_note(issued, line_ids=[fee.pk])
    rest = invoicing.issue_credit_note(issued)
    assert rest.number.endswith("-000002")
    assert rest.subtotal == -(issued.subtotal - 1000)
    issued.refresh_from_db()
    assert issued.total == 2100 + 210  # unchanged; credited in full while open, it is settled
    assert (issued.status, issued.credited_amount, issued.amount_due) == (
        InvoiceStatus.PAID,
        2310,
        0,
    )


def test_credit_note_refuses_drafts_and_foreign_lines(customer, issued, make_customer):
    other = make_customer()
    other.account()
    other.ran(other.metered(), JAN, 1)
    (pk,) = invoicing.close_billing_period(JAN).created
    draft = Invoice.objects.get(pk=pk)
    with pytest.raises(InvoiceNotCreditable):
        invoicing.issue_credit_note(draft)
    with pytest.raises(InvoiceNotCreditable, match="belong"):
        invoicing.issue_credit_note(issued, line_ids=[draft.lines.first().pk])


def _dump_and_empty_invoices(path) -> None:
    """Dump the invoices and their lines, then empty both tables as a freshly migrated
    database is (past the triggers, which rightly refuse deleting a finalized invoice)."""
    call_command("dumpdata", "billing.invoice", "billing.invoiceline", output=str(path))
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("DELETE FROM billing_invoiceline")
        cursor.execute("DELETE FROM billing_invoice")
        cursor.execute("SET session_replication_role = origin")


def _sneak_a_line_into(invoice) -> None:
    InvoiceLine.objects.bulk_create([_sneaky_line(invoice)])  # passes by the model guards


@postgresql_only
def test_a_dump_with_finalized_invoices_loads_into_postgresql(issued, tmp_path):
    """loaddata (moving off SQLite, docs/operations.md) inserts each invoice, finalized, then
    its lines: the line trigger lets the project's loaddata add them (here inside the test's
    transaction, as loaddata inside any atomic block)."""
    lines = sorted(issued.lines.values_list("description", "amount"))
    _dump_and_empty_invoices(tmp_path / "billing.json")
    call_command("loaddata", str(tmp_path / "billing.json"), verbosity=0)
    loaded = Invoice.objects.get(number=issued.number)
    to_the_millisecond = issued.finalized_at.microsecond // 1000 * 1000  # JSON's precision
    assert loaded.finalized_at == issued.finalized_at.replace(microsecond=to_the_millisecond)
    assert sorted(loaded.lines.values_list("description", "amount")) == lines


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_lines_of_an_invoice_finalized_by_an_earlier_transaction_never_change(issued, tmp_path):
    """Committed, a finalized invoice takes no new line, loaded by loaddata (its own
    transaction, as on the command line) or not."""
    with pytest.raises(IntegrityError, match="finalized"), transaction.atomic():
        _sneak_a_line_into(issued)
    _dump_and_empty_invoices(tmp_path / "billing.json")
    call_command("loaddata", str(tmp_path / "billing.json"), verbosity=0)
    loaded = Invoice.objects.get(number=issued.number)
    assert loaded.lines.count() == issued.lines.count()
    with pytest.raises(IntegrityError, match="finalized"), transaction.atomic():
        _sneak_a_line_into(loaded)
    with pytest.raises(IntegrityError, match="finalized"), transaction.atomic():
        InvoiceLine.objects.filter(invoice=loaded).update(amount=1)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_finalized_invoice_written_again_in_a_transaction_takes_no_line_there(issued):
    """Updating a finalized invoice's lifecycle columns (an email stamp, a credit) does not
    re-open its lines for the rest of that transaction (a first version of billing 0027
    allowed inserts in the transaction that last wrote the invoice row)."""
    with pytest.raises(IntegrityError, match="finalized"), transaction.atomic():
        Invoice.objects.filter(pk=issued.pk).update(emailed_at=timezone.now())
        _sneak_a_line_into(issued)
