"""Reading an invoice PDF back as an accountant's software would: text, XMP, the XML."""

from io import BytesIO

from facturx import get_xml_from_pdf
from lxml import etree
from pypdf import PdfReader

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
XMP_NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def embedded_xml(pdf: bytes) -> tuple[str, etree._Element]:
    """The embedded e-invoice, extracted (and XSD-checked) by the factur-x library."""
    filename, xml = get_xml_from_pdf(pdf, check_xsd=True)
    return filename, etree.fromstring(xml)


def xmp(pdf: bytes) -> etree._Element:
    root = PdfReader(BytesIO(pdf)).trailer["/Root"]
    return etree.fromstring(root["/Metadata"].get_object().get_data())


def xmp_value(tree: etree._Element, name: str) -> str:
    """A property of the XMP packet, whether written as an element or an attribute."""
    prefix, local = name.split(":")
    uri = XMP_NS[prefix]
    for description in tree.iterfind(".//rdf:Description", XMP_NS):
        element = description.find(f"{{{uri}}}{local}")
        if element is not None:
            return element.text
        if f"{{{uri}}}{local}" in description.attrib:
            return description.attrib[f"{{{uri}}}{local}"]
    raise KeyError(name)


def xml_text(tree: etree._Element, path: str) -> str:
    return tree.xpath(path, namespaces=NS)[0].text


def summation(tree: etree._Element, name: str) -> str:
    return xml_text(
        tree,
        "//ram:ApplicableHeaderTradeSettlement"
        f"/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:{name}",
    )
