"""An invoice whose document cannot be built (its buyer frozen with a country EN 16931 does
not know, as accounts were accepted until 2026-12-01) neither cuts finance's pdfs.zip short
behind a 200 nor is a 500 at its admin PDF link: the archive stays whole and names it, the
link answers the refusal on the invoice's page (docs/billing.md). One that fails to render
with no refusal at all leaves the archive whole too."""

import html
import io
import zipfile
from datetime import timedelta

import pytest
from django.db import OperationalError

from billing import exports, invoicing
from billing.models import BillingAccount, Invoice
from tests.invoicing.conftest import FEB
from tests.openapi_conformance import assert_documented

EXPORTS = "/admin/billing/finance/exports/"


def _legacy_invoice(books, monkeypatch, **stored) -> Invoice:
    """February's draft finalized for a buyer whose account row predates a rule (the country
    rule, unless ``stored`` says otherwise), by finalize as it was then (without
    ``account_refusal``)."""
    tenant = books.draft.tenant
    BillingAccount.objects.create(
        tenant=tenant,
        legal_name="Old Buyer Ltd",
        address_line1="1 Old Road",
        postcode="1000",
        city="Nowhere",
        country="ZZ",
        invoice_emails=["ap@old.example"],
        currency="EUR",
        tax_rate="19.00",
    )
    BillingAccount.objects.filter(tenant=tenant).update(**stored)
    with monkeypatch.context() as then:
        then.setattr(invoicing, "account_refusal", lambda account: "")
        return invoicing.finalize_invoice(books.draft, now=FEB + timedelta(days=32))


def test_the_pdf_zip_stays_whole_and_names_the_invoice_it_could_not_render(
    books, admin_session, monkeypatch
):
    legacy = _legacy_invoice(books, monkeypatch)
    client, _ = admin_session("finance")

    response = client.get(f"{EXPORTS}pdfs.zip", {"period": "2026-02"})

    assert response.status_code == 200
    # Before: the stream broke off at the invoice, no central directory (BadZipFile).
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    names = archive.namelist()
    assert f"{legacy.number}.pdf" not in names
    assert f"{books.feb_c1.number}.pdf" in names
    reason = archive.read(f"{legacy.number}.error.txt").decode()
    assert reason.startswith(f"{legacy.number}: no PDF could be made (invalid_invoice_document)")
    assert "country" in reason


def test_the_pdf_zip_stays_whole_when_rendering_an_invoice_fails_without_a_refusal(
    books, admin_session, monkeypatch
):
    """An invoice email stored before its control characters were refused (a quoted local
    part Django's validator takes) is the buyer's address in the XML, which the XML library
    cannot write: a ValueError, no refusal of ours. The archive broke off there all the
    same, behind a 200; it names the invoice and goes on, as for a refusal."""
    broken = '"ap\x01"@old.example'
    legacy = _legacy_invoice(books, monkeypatch, country="DE", invoice_emails=[broken])
    client, _ = admin_session("finance")

    response = client.get(f"{EXPORTS}pdfs.zip", {"period": "2026-02"})

    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    assert f"{books.feb_c1.number}.pdf" in archive.namelist()
    reason = archive.read(f"{legacy.number}.error.txt").decode()
    assert reason.startswith(
        f"{legacy.number}: no PDF could be made (document_not_rendered): ValueError: "
    ), reason


def test_the_admin_pdf_link_answers_why_on_the_invoice_page_as_the_api_does(
    books, admin_session, member_client, monkeypatch
):
    legacy = _legacy_invoice(books, monkeypatch)
    tenant_client, _ = member_client("billing", tenant=legacy.tenant)
    by_api = tenant_client.get(f"/api/v1/invoices/{legacy.pk}/pdf")
    assert (by_api.status_code, by_api.json()["code"]) == (422, "invalid_invoice_document")
    client, _ = admin_session("finance")

    response = client.get(f"/admin/billing/invoice/{legacy.pk}/pdf/")

    # Before: 500.
    assert response.status_code == 422
    page = html.unescape(response.content.decode())
    assert f"{legacy.number}" in page and "View invoice" in page
    assert "The buyer's country: 'ZZ' is not an ISO 3166-1 alpha-2 country code" in page


def test_the_api_pdf_refusal_is_documented_in_the_schema(books, member_client, monkeypatch):
    """A client generated from the schema knows the 422 the PDF route answers."""
    legacy = _legacy_invoice(books, monkeypatch)
    client, _ = member_client("billing", tenant=legacy.tenant)

    response = client.get(f"/api/v1/invoices/{legacy.pk}/pdf")

    assert response.status_code == 422
    assert_documented(response, "GET /api/v1/invoices/{id}/pdf")


def test_a_database_lost_while_the_archive_is_made_is_not_said_of_its_invoices(books):
    """A lost connection may pass at the next try and is no fault of the invoice: the archive
    breaks off, rather than naming every invoice after it as one that cannot be rendered."""

    def database_lost(invoice):
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.raises(OperationalError):
        b"".join(exports.pdf_zip(FEB, database_lost))
