"""The e-invoice check is real: the EN 16931 schematron (run offline) passes the XML we
build and catches an XML whose figures were changed, which the XSD alone would accept."""

import pytest
from facturx import xml_check_xsd

from billing.documents import facturx_xml
from billing.documents.errors import EInvoiceRejected
from billing.documents.validation import check_facturx_xml, schematron_report
from tests.invoices.documents import invoice


@pytest.mark.parametrize(
    "doc",
    [
        invoice(),
        invoice(reverse_charge=True),
        invoice(currency="JPY"),
        invoice(paid=True),
        invoice(kind="credit_note", number="EP-CN-2026-000001", credit_of="EP-2026-000042"),
    ],
    ids=["vat", "reverse-charge", "yen", "paid", "credit-note"],
)
def test_every_kind_of_document_passes_the_en16931_rules(doc):
    failures, _ = schematron_report(facturx_xml(doc))
    assert failures == []


def test_a_tampered_total_passes_the_xsd_but_not_the_business_rules():
    xml = facturx_xml(invoice())
    tampered = xml.replace(
        b"<ram:GrandTotalAmount>72.34</ram:GrandTotalAmount>",
        b"<ram:GrandTotalAmount>72.35</ram:GrandTotalAmount>",
    )
    assert tampered != xml
    assert xml_check_xsd(tampered, flavor="factur-x", level="en16931")
    with pytest.raises(EInvoiceRejected) as refused:
        check_facturx_xml(tampered)
    assert any("BR-CO-15" in failure for failure in refused.value.failures)


def test_a_line_that_no_longer_sums_is_caught():
    xml = facturx_xml(invoice())
    tampered = xml.replace(
        b"<ram:LineTotalAmount>49.00</ram:LineTotalAmount>",
        b"<ram:LineTotalAmount>48.00</ram:LineTotalAmount>",
        1,
    )
    failures, _ = schematron_report(tampered)
    assert any("BR-CO-10" in failure for failure in failures)


def test_a_non_xml_einvoice_is_refused_by_the_xsd_check():
    with pytest.raises(EInvoiceRejected, match="XSD"):
        check_facturx_xml(b"<Invoice/>")
