"""Finance's and the vendors' streamed exports keep no database cursor across transactions:
read outside one, Django declared their server-side cursors WITH HOLD, kept by the database
session, and behind PgBouncer in transaction pooling (docs/scaling.md: "nothing in the code
relies on session state across transactions") the next fetch reached another server
connection and the file was cut short (``cursor ... does not exist``). Each is read in one
transaction now (``csv_stream.download``)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def _holdable_cursors() -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_cursors WHERE is_holdable")
        return cursor.fetchall()


def _held_mid_stream(response) -> list:
    """The cursors held across transactions while ``response`` is half sent (its header and
    first row), then the rest read."""
    assert response.status_code == 200 and response.streaming
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks)
    held = _holdable_cursors()
    list(chunks)
    return held


@pytest.fixture(autouse=True)
def one_row_a_chunk(settings):
    if connection.vendor != "postgresql":
        pytest.skip("server-side cursors are PostgreSQL's")
    settings.BILLING_EXPORT_CHUNK_SIZE = 1


@pytest.mark.parametrize("export", ["invoices.csv", "lines.csv"])
def test_finance_exports_hold_no_cursor_across_transactions(books, admin_session, export):
    client, _ = admin_session("finance")
    response = client.get(f"/admin/billing/finance/exports/{export}", {"period": "2026-02"})
    assert _held_mid_stream(response) == []


def test_a_vendor_statement_holds_no_cursor_across_transactions(books, member_client):
    client = member_client("billing", tenant=books.v1)[0]
    assert _held_mid_stream(client.get("/api/v1/vendor/payouts/2026-02.csv")) == []
