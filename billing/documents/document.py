"""The invoice document: everything an invoice or credit note prints, as plain frozen data.

Whoever builds an invoice (the month close, a credit note) fills an ``InvoiceDocument``; the
renderers (HTML, PDF, Factur-X XML) and the email only read it. ``check_document`` is the one
place that refuses a document whose figures do not add up. ``as_dict``/``from_dict`` give a
JSON form (to store or send a document; ``from_dict`` checks it as ``check_document`` does).

Amounts are integer minor units of ``currency`` (ISO 4217 exponents: JPY 0, USD 2, KWD 3).
A credit note prints positive amounts: its kind says they are owed back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.charge_minimums import charge_step
from billing.documents import codelists
from billing.documents.errors import InvalidInvoiceDocument
from marketplace.pricing import (
    InvalidPriceTerms,
    currency_exponent,
    major_units,
    plain_number,
    round_minor,
    unit_price_text,
)

KINDS = ("invoice", "credit_note")

# UN/ECE Recommendation 20 unit codes, as EN 16931 requires for invoiced quantities (BT-130).
UNIT_CODES: dict[str, str] = {
    "agent-hour": "HUR",
    "hour": "HUR",
    "month": "MON",
    "unit": "C62",
    "seat": "C62",
    "package": "C62",
}

_HUNDRED = Decimal(100)
# A document's tax rate is a percentage from 0 up to, not including, this.
TAX_RATE_LIMIT = _HUNDRED


@dataclass(frozen=True)
class Party:
    """Seller or buyer as printed on the invoice."""

    legal_name: str
    address_lines: tuple[str, ...]
    postcode: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    tax_id: str = ""  # VAT identification number, with its country prefix
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentLine:
    """One invoice line; ``breakdown`` keeps the tier slices so a reader can recompute it."""

    description: str
    quantity: Decimal
    unit: str  # a key of UNIT_CODES
    unit_amount: Decimal  # minor units per unit, unrounded
    amount: int  # minor units, rounded half-up once
    breakdown: tuple[Mapping[str, Any], ...] = ()


def declared_vat_rate(tax_rate: Decimal, reverse_charge: bool) -> Decimal:
    """The VAT rate a document prints and declares: nothing is charged under reverse charge
    (category AE, 0 %), whatever rate the buyer's account gives."""
    return Decimal(0) if reverse_charge else tax_rate


@dataclass(frozen=True)
class InvoiceDocument:
    kind: str  # "invoice" or "credit_note"
    number: str
    issue_date: date
    period_start: date
    period_end: date
    due_date: date
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    tax_rate: Decimal  # percent, e.g. Decimal("20")
    reverse_charge: bool
    subtotal: int
    tax: int
    total: int
    # What the buyer paid before the invoice (its one-time orders' lines): Stripe collects
    # ``total - prepaid``, and the document says the same.
    prepaid: int = 0
    paid: bool = False
    credit_of: str = ""  # the credited invoice's number (credit notes only)
    # EN 16931 BT-114: added to what is due so that a card can be charged it (three-decimal
    # currencies: a multiple of 10 minor units), 0 or down by less than one step. The lines,
    # the VAT and the total stay exact.
    rounding: int = 0
    # What credit notes gave back of it while it was unpaid (``Invoice.credited_amount``):
    # that much less was due. A credit note of a paid invoice is money paid back, not this.
    credited: int = 0
    # A credit note of an unpaid invoice: what it took off what that invoice asks (minor
    # units, positive; ``Invoice.applied_amount``). Not its total: the credited lines paid
    # before the invoice are not in it, and the note crediting the invoice's last line took
    # all that was left. collection.apply_credit.
    taken_off: int = 0
    # A credit note of a paid invoice: the money it gives back (minor units, positive), and
    # whether on the card that paid the invoice (else by transfer). billing.money_back.
    money_back: int = 0
    money_back_to_card: bool = False

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"

    @property
    def vat_category(self) -> str:
        """EN 16931 VAT category (UNCL 5305): AE reverse charge, S standard, Z zero rated."""
        if self.reverse_charge:
            return "AE"
        return "S" if self.tax_rate > 0 else "Z"

    @property
    def vat_rate(self) -> Decimal:
        """The rate printed and declared (``declared_vat_rate``)."""
        return declared_vat_rate(self.tax_rate, self.reverse_charge)

    @property
    def prepaid_label(self) -> str:
        """How the document names ``prepaid``: orders paid before it, or (negative) refunds
        already paid back, shown as a positive amount."""
        return "Paid in advance" if self.prepaid > 0 else "Already refunded"

    @property
    def amount_paid(self) -> int:
        """What the buyer paid of it, as the invoice API's ``amount_paid``."""
        asked = amount_asked(self.total, self.credited, self.rounding)
        return paid_so_far(asked, self.prepaid, self.paid)

    @property
    def amount_settled(self) -> int:
        """What no longer needs paying: paid, or given back by credit notes (EN 16931 BT-113,
        the one place the standard has for either)."""
        return self.amount_paid + self.credited

    @property
    def amount_due(self) -> int:
        """EN 16931 BR-CO-16: the total less what was settled, plus the rounding."""
        return self.total - self.amount_settled + self.rounding

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (decimals as strings, dates as ISO 8601); ``from_dict`` reads it back."""
        return {
            "kind": self.kind,
            "number": self.number,
            "issue_date": self.issue_date.isoformat(),
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "due_date": self.due_date.isoformat(),
            "currency": self.currency,
            "seller": _party_dict(self.seller),
            "buyer": _party_dict(self.buyer),
            "lines": [
                {
                    "description": line.description,
                    "quantity": str(line.quantity),
                    "unit": line.unit,
                    "unit_amount": str(line.unit_amount),
                    "amount": line.amount,
                    "breakdown": [dict(slice_) for slice_ in line.breakdown],
                }
                for line in self.lines
            ],
            "tax_rate": str(self.tax_rate),
            "reverse_charge": self.reverse_charge,
            "subtotal": self.subtotal,
            "tax": self.tax,
            "total": self.total,
            "prepaid": self.prepaid,
            "paid": self.paid,
            "credit_of": self.credit_of,
            "rounding": self.rounding,
            "credited": self.credited,
            "taken_off": self.taken_off,
            "money_back": self.money_back,
            "money_back_to_card": self.money_back_to_card,
        }


def _party_dict(party: Party) -> dict[str, Any]:
    return {
        "legal_name": party.legal_name,
        "address_lines": list(party.address_lines),
        "postcode": party.postcode,
        "city": party.city,
        "country": party.country,
        "tax_id": party.tax_id,
        "emails": list(party.emails),
    }


def from_dict(data: Mapping[str, Any]) -> InvoiceDocument:
    """Read ``as_dict``'s form back, then check it; a malformed field is an
    ``InvalidInvoiceDocument`` naming it."""
    try:
        document = InvoiceDocument(
            kind=data["kind"],
            number=data["number"],
            issue_date=date.fromisoformat(data["issue_date"]),
            period_start=date.fromisoformat(data["period_start"]),
            period_end=date.fromisoformat(data["period_end"]),
            due_date=date.fromisoformat(data["due_date"]),
            currency=data["currency"],
            seller=_party(data["seller"]),
            buyer=_party(data["buyer"]),
            lines=tuple(
                DocumentLine(
                    description=line["description"],
                    quantity=_decimal(line["quantity"], "quantity"),
                    unit=line["unit"],
                    unit_amount=_decimal(line["unit_amount"], "unit_amount"),
                    amount=_integer(line["amount"], "amount"),
                    breakdown=tuple(dict(s) for s in line.get("breakdown", ())),
                )
                for line in data["lines"]
            ),
            tax_rate=_decimal(data["tax_rate"], "tax_rate"),
            reverse_charge=bool(data["reverse_charge"]),
            subtotal=_integer(data["subtotal"], "subtotal"),
            tax=_integer(data["tax"], "tax"),
            total=_integer(data["total"], "total"),
            prepaid=_integer(data.get("prepaid", 0), "prepaid"),
            paid=bool(data.get("paid", False)),
            credit_of=data.get("credit_of") or "",
            rounding=_integer(data.get("rounding", 0), "rounding"),
            credited=_integer(data.get("credited", 0), "credited"),
            taken_off=_integer(data.get("taken_off", 0), "taken_off"),
            money_back=_integer(data.get("money_back", 0), "money_back"),
            money_back_to_card=bool(data.get("money_back_to_card", False)),
        )
    except KeyError as missing:
        raise InvalidInvoiceDocument(f"The document has no {missing.args[0]!r}.") from None
    except (TypeError, ValueError) as exc:
        raise InvalidInvoiceDocument(f"The document is malformed: {exc}") from None
    check_document(document)
    return document


def _party(data: Mapping[str, Any]) -> Party:
    return Party(
        legal_name=data["legal_name"],
        address_lines=tuple(data.get("address_lines", ())),
        postcode=data.get("postcode", ""),
        city=data.get("city", ""),
        country=data["country"],
        tax_id=data.get("tax_id", ""),
        emails=tuple(data.get("emails", ())),
    )


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, float):
        raise InvalidInvoiceDocument(f"{name} must be a decimal string, not a float.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInvoiceDocument(f"{name} must be a decimal number.") from None
    if not number.is_finite():
        raise InvalidInvoiceDocument(f"{name} must be finite.")
    return number


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInvoiceDocument(f"{name} must be an integer amount in minor units.")
    return value


# --- money for people and for XML ------------------------------------------------------------


@contextmanager
def _known_currency() -> Iterator[None]:
    """An unknown currency is the document's fault here: ``InvalidInvoiceDocument``."""
    try:
        yield
    except InvalidPriceTerms as exc:
        raise InvalidInvoiceDocument(str(exc)) from None


def exponent(currency: str) -> int:
    with _known_currency():
        return currency_exponent(currency)


def major(amount: int | Decimal, currency: str) -> str:
    """Minor units → the decimal string in major units (``pricing.major_units``)."""
    with _known_currency():
        return major_units(amount, currency)


def unit_price(unit_amount: Decimal, currency: str) -> str:
    """A unit price in major units (``pricing.unit_price_text``)."""
    with _known_currency():
        return unit_price_text(unit_amount, currency)


@dataclass(frozen=True)
class BreakdownRow:
    """One tier slice of a line, formatted for people (HTML, PDF, the XML's line note)."""

    tier: str
    quantity: str
    unit_price: str
    amount: str
    flat: str = ""  # the tier's flat amount in major units; empty when it has none

    @property
    def price(self) -> str:
        """What each unit costs and, when the tier has one, its flat amount beside it
        (``1.00 + 5.00 flat``): quantity x the unit price, plus the flat amount, is the amount,
        as the PDF and the note print."""
        return f"{self.unit_price} + {self.flat} flat" if self.flat else self.unit_price


def breakdown_rows(slices: Iterable[Mapping[str, Any]], currency: str) -> list[BreakdownRow]:
    """A line's slices (``DocumentLine.breakdown``); each slice is ``{"tier", "quantity",
    "unit_amount", "amount"}`` with ``unit_amount`` in minor units (decimal string) and
    ``amount`` in integer minor units, and ``flat_amount`` (integer minor units) when the tier
    charges one: a slice without it (stored before slices had it) has none."""
    return [
        BreakdownRow(
            tier=str(slice_.get("tier", "")),
            quantity=plain_number(_decimal(slice_.get("quantity", 0), "breakdown quantity")),
            unit_price=unit_price(
                _decimal(slice_.get("unit_amount", 0), "breakdown unit_amount"), currency
            ),
            amount=major(_integer(slice_.get("amount", 0), "breakdown amount"), currency),
            flat=_flat(slice_, currency),
        )
        for slice_ in slices
    ]


def _flat(slice_: Mapping[str, Any], currency: str) -> str:
    flat = _integer(slice_.get("flat_amount", 0), "breakdown flat_amount")
    return major(flat, currency) if flat else ""


def breakdown_note(slices: Iterable[Mapping[str, Any]], currency: str) -> str:
    """The slices in words, in major units ("seats: 2 x 49.00 = 98.00 EUR; agent-hours 0-10:
    10 x 1.00 + 5.00 flat = 15.00 EUR"): the e-invoice's line note, so the XML alone lets a
    reader recompute the line."""
    return "; ".join(
        f"{row.tier}: {row.quantity} x {row.price} = {row.amount} {currency}"
        for row in breakdown_rows(slices, currency)
    )


def vat_amount(taxable: int, tax_rate: Decimal) -> int:
    """The VAT of a taxable amount (minor units) at ``tax_rate`` percent, half-up to a whole
    minor unit: EN 16931 BR-CO-17 (one VAT category, tax = taxable amount * rate / 100,
    rounded to two decimals). The one rule: the close and a credit note compute their tax
    with it (``invoice_builder.totals``) and ``check_document`` refuses a document that
    breaks it. Half-up rounds halves away from zero, so a credit note, stored negative, has
    exactly the negated VAT of the same amount invoiced."""
    return round_minor(taxable * tax_rate / _HUNDRED)


# --- the buyer's tax terms a document can be issued with ------------------------------------
# Stated once, here: ``check_document`` refuses a document breaking them, and
# ``billing.billing_accounts`` refuses a billing account breaking them when it is set, so an
# account that is accepted never gives an invoice whose document is refused.


def tax_rate_refusal(tax_rate: Decimal) -> str:
    """Why ``tax_rate`` (percent) cannot be printed on a document; empty when it can."""
    if 0 <= tax_rate < TAX_RATE_LIMIT:
        return ""
    return f"The tax rate must be a percentage from 0 to under {TAX_RATE_LIMIT}."


def amount_asked(total: int, credited: int, rounding: int) -> int:
    """What a document asks of its buyer in all: its total less what credit notes took off,
    with its rounding (``Invoice`` and ``InvoiceDocument`` alike)."""
    return total - credited + rounding


def paid_so_far(total: int, prepaid: int, paid: bool) -> int:
    """What the buyer has paid of a document: all it asks once it is paid (``total``: its
    total less what credit notes took off, with its rounding), else what was paid before it
    (its prepaid lines). The document prints
    ``total`` less this as the amount due; the invoice API calls that ``amount_remaining``."""
    return total if paid else prepaid


def negative_total_refusal(total: int) -> str:
    """Why an invoice totalling ``total`` (minor units) cannot be a document; empty when it
    can. (A credit note is stored negative and printed positive: its document total is not.)"""
    if total >= 0:
        return ""
    return "A document's total cannot be negative: money owed back is a credit note."


def country_refusal(country: str) -> str:
    """Why ``country`` cannot be a party's country on a document; empty when it can: an ISO
    3166-1 alpha-2 code of EN 16931's list (``codelists``), in capitals."""
    if country in codelists.country_codes():
        return ""
    return f"{country!r} is not an ISO 3166-1 alpha-2 country code such as DE or FR."


def tax_id_refusal(tax_id: str) -> str:
    """Why ``tax_id`` cannot be a party's VAT number on a document; empty when it can (or is
    blank): EN 16931 asks it to start with its country's code in capitals (BR-CO-09)."""
    if not tax_id.strip() or tax_id[:2] in codelists.vat_prefixes():
        return ""
    return (
        f"{tax_id!r} does not start with a country code in capitals: a VAT number is written "
        "with its country's prefix, such as DE123456789 (Greece: EL)."
    )


def reverse_charge_refusal(reverse_charge: bool, buyer_tax_id: str) -> str:
    """Why a document cannot be reverse-charged to a buyer with ``buyer_tax_id``; empty when
    it can (or is not reverse-charged)."""
    if reverse_charge and not buyer_tax_id.strip():
        return "Reverse charge needs the buyer's VAT number."
    return ""


# --- checks: each predicate raises one specific complaint -----------------------------------


def check_document(doc: InvoiceDocument) -> None:
    for check in (
        _reject_unknown_kind,
        _reject_missing_number,
        _reject_unknown_currency,
        _reject_unnamed_parties,
        _reject_bad_countries,
        _reject_inverted_dates,
        _reject_no_lines,
        _reject_unknown_units,
        _reject_subtotal_not_sum_of_lines,
        _reject_tax_rate_out_of_range,
        _reject_wrong_tax,
        _reject_total_not_subtotal_plus_tax,
        _reject_negative_total,
        _reject_rounding_beyond_one_step,
        _reject_credited_beyond_what_was_due,
        _reject_seller_without_tax_id,
        _reject_vat_without_country_prefix,
        _reject_reverse_charge_without_buyer_tax_id,
        _reject_credit_note_without_original,
    ):
        check(doc)


def _reject_unknown_kind(doc: InvoiceDocument) -> None:
    if doc.kind not in KINDS:
        raise InvalidInvoiceDocument(f"kind must be one of {', '.join(KINDS)}.")


def _reject_missing_number(doc: InvoiceDocument) -> None:
    if not doc.number.strip():
        raise InvalidInvoiceDocument("A document needs its number (finalize it first).")


def _reject_unknown_currency(doc: InvoiceDocument) -> None:
    exponent(doc.currency)


def _reject_unnamed_parties(doc: InvoiceDocument) -> None:
    for role, party in (("seller", doc.seller), ("buyer", doc.buyer)):
        if not party.legal_name.strip():
            raise InvalidInvoiceDocument(f"The {role} needs a legal name.")


def _reject_bad_countries(doc: InvoiceDocument) -> None:
    for role, party in (("seller", doc.seller), ("buyer", doc.buyer)):
        if refusal := country_refusal(party.country):
            raise InvalidInvoiceDocument(f"The {role}'s country: {refusal}")


def _reject_vat_without_country_prefix(doc: InvoiceDocument) -> None:
    for role, party in (("seller", doc.seller), ("buyer", doc.buyer)):
        if refusal := tax_id_refusal(party.tax_id):
            raise InvalidInvoiceDocument(f"The {role}'s VAT number: {refusal}")


def _reject_inverted_dates(doc: InvoiceDocument) -> None:
    if doc.period_start > doc.period_end:
        raise InvalidInvoiceDocument("The period starts after it ends.")
    if doc.due_date < doc.issue_date:
        raise InvalidInvoiceDocument("The due date is before the issue date.")


def _reject_no_lines(doc: InvoiceDocument) -> None:
    if not doc.lines:
        raise InvalidInvoiceDocument("A document needs at least one line (EN 16931 BG-25).")


def _reject_unknown_units(doc: InvoiceDocument) -> None:
    for line in doc.lines:
        if line.unit not in UNIT_CODES:
            raise InvalidInvoiceDocument(
                f"Unknown unit {line.unit!r}; use one of {', '.join(UNIT_CODES)}."
            )


def _reject_subtotal_not_sum_of_lines(doc: InvoiceDocument) -> None:
    lines_total = sum(line.amount for line in doc.lines)
    if doc.subtotal != lines_total:
        raise InvalidInvoiceDocument(
            f"The subtotal {doc.subtotal} is not the sum of the lines ({lines_total})."
        )


def _reject_tax_rate_out_of_range(doc: InvoiceDocument) -> None:
    if refusal := tax_rate_refusal(doc.tax_rate):
        raise InvalidInvoiceDocument(refusal)


def _reject_wrong_tax(doc: InvoiceDocument) -> None:
    if doc.reverse_charge:
        if doc.tax != 0:
            raise InvalidInvoiceDocument("Under reverse charge the seller charges no VAT.")
        return
    expected = vat_amount(doc.subtotal, doc.tax_rate)
    if doc.tax != expected:
        raise InvalidInvoiceDocument(
            f"The tax {doc.tax} is not {doc.tax_rate}% of {doc.subtotal} "
            f"rounded half-up ({expected})."
        )


def _reject_total_not_subtotal_plus_tax(doc: InvoiceDocument) -> None:
    if doc.total != doc.subtotal + doc.tax:
        raise InvalidInvoiceDocument("The total is not the subtotal plus the tax.")


def _reject_negative_total(doc: InvoiceDocument) -> None:
    if refusal := negative_total_refusal(doc.total):
        raise InvalidInvoiceDocument(refusal)


def _reject_rounding_beyond_one_step(doc: InvoiceDocument) -> None:
    """The rounding only takes off what a card cannot be charged: less than one step of the
    currency (``charge_minimums.charge_step``), so none where any amount can be charged, and
    none on a credit note, which is never charged."""
    step = 1 if doc.is_credit_note else charge_step(doc.currency)
    if not -step < doc.rounding <= 0:
        raise InvalidInvoiceDocument(
            f"The rounding {doc.rounding} is not between 0 and -{step - 1} minor units of "
            f"{doc.currency}{' (a credit note has none)' if doc.is_credit_note else ''}."
        )


def _reject_credited_beyond_what_was_due(doc: InvoiceDocument) -> None:
    """Credit notes take off at most what the invoice asked; a credit note is credited by
    nothing."""
    most = 0 if doc.is_credit_note else max(0, doc.total - doc.prepaid)
    if not 0 <= doc.credited <= most:
        raise InvalidInvoiceDocument(
            f"The credited amount {doc.credited} is not between 0 and {most} (what the "
            f"{'credit note' if doc.is_credit_note else 'invoice'} asked)."
        )


def _reject_seller_without_tax_id(doc: InvoiceDocument) -> None:
    if not doc.seller.tax_id.strip():
        raise InvalidInvoiceDocument("The seller's VAT number is printed on every invoice.")


def _reject_reverse_charge_without_buyer_tax_id(doc: InvoiceDocument) -> None:
    if refusal := reverse_charge_refusal(doc.reverse_charge, doc.buyer.tax_id):
        raise InvalidInvoiceDocument(refusal)


def _reject_credit_note_without_original(doc: InvoiceDocument) -> None:
    if doc.is_credit_note and not doc.credit_of:
        raise InvalidInvoiceDocument("A credit note names the invoice it credits.")
