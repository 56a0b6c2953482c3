"""The billing account action: a tenant admin or billing member sets who invoices go to.

An account is refused when an invoice issued to it could not be: its tax terms are checked by
the invoice document's own rules (``billing.documents.document``: the tax rate, reverse charge
and the buyer's VAT number), so an accepted account never gets an invoice finalized and
numbered whose PDF, email or export is then refused."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from billing.documents.document import (
    country_refusal,
    reverse_charge_refusal,
    tax_id_refusal,
    tax_rate_refusal,
)
from billing.draft_terms import follow_tax_terms
from billing.errors import InvalidBillingAccount
from billing.models import BillingAccount
from edgeplug.accounts.models import normalize_email
from edgeplug.audit.services import field_changes, record_event
from edgeplug.text import unprintable
from marketplace.pricing import CURRENCY_EXPONENTS

MAX_EMAILS = 10


def _reject_bad_country(country: str) -> None:
    if refusal := country_refusal(country):
        raise InvalidBillingAccount(f"country: {refusal}", field="country")


def _reject_unknown_currency(currency: str) -> None:
    if currency not in CURRENCY_EXPONENTS:
        raise InvalidBillingAccount(
            f"currency must be one of {', '.join(sorted(CURRENCY_EXPONENTS))}.", field="currency"
        )


def distinct_emails(emails) -> list[str]:
    """The addresses, each once, as first written: one written again in another case, or
    with its domain otherwise spelt (punycode, fullwidth letters, a decomposed ü), is the
    same mailbox, as an account's email is (``normalize_email``): it got every invoice twice,
    and counted twice towards the limit."""
    first_spelling: dict[str, str] = {}
    for email in emails:
        first_spelling.setdefault(normalize_email(email), email)
    return list(first_spelling.values())


def _emails(emails) -> list[str]:
    field = "invoice_emails"
    if not isinstance(emails, list) or len(emails) > MAX_EMAILS:
        raise InvalidBillingAccount(f"{field} must be a list of at most {MAX_EMAILS}.", field=field)
    for email in emails:
        try:
            validate_email(email)
        except (ValidationError, TypeError):
            raise InvalidBillingAccount(
                f"{email!r} is not an email address.", field=field
            ) from None
    return distinct_emails(emails)


# tax_rate as the API takes it: a percentage the invoice document can print
# (``tax_rate_refusal``: 0 to under 100) with at most two decimals, written as text. The API
# schema publishes it; the rule itself is ``_tax_rate`` (a test keeps the two in step).
TAX_RATE_PATTERN = r"^[0-9]{1,2}(\.[0-9]{1,2})?$"  # ASCII digits (Python's \d takes ٩)


def _tax_rate(value) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise InvalidBillingAccount(
            "tax_rate must be a percentage such as 19.00.", field="tax_rate"
        ) from None
    if not rate.is_finite() or rate != rate.quantize(Decimal("0.01")):
        raise InvalidBillingAccount(
            "tax_rate must be a percentage with two decimals at most.", field="tax_rate"
        )
    if refusal := tax_rate_refusal(rate):
        raise InvalidBillingAccount(f"tax_rate: {refusal}", field="tax_rate")
    return rate.quantize(Decimal("0.01"))  # as stored: 19 is 19.00


TEXT_FIELDS = ("legal_name", "address_line1", "address_line2", "postcode", "city", "tax_id")


def _reject_unprintable_emails(emails: list[str]) -> None:
    """An address Django's validator takes may still hold a control character (a quoted local
    part: ``"ap\\x01"@acme.example``); the first is the buyer's address in the e-invoice."""
    field = "invoice_emails"
    for email in emails:
        if refusal := unprintable(email):
            raise InvalidBillingAccount(f"{field}: {email!r} {refusal}", field=field)


def _reject_terms_no_invoice_can_carry(values: dict) -> None:
    """What an account needs so its invoices can be issued, beyond each field's format: text
    a document can carry, and the document's rules on the buyer's tax terms."""
    for field in TEXT_FIELDS:
        if refusal := unprintable(values[field]):
            raise InvalidBillingAccount(f"{field}: {refusal}", field=field)
    _reject_unprintable_emails(values["invoice_emails"])
    if refusal := tax_id_refusal(values["tax_id"]):
        raise InvalidBillingAccount(f"tax_id: {refusal}", field="tax_id")
    if refusal := reverse_charge_refusal(values["reverse_charge"], values["tax_id"]):
        raise InvalidBillingAccount(f"tax_id: {refusal}", field="tax_id")


def accounts_of(tenant_ids: Iterable[int]) -> dict[int, BillingAccount]:
    """The billing accounts of ``tenant_ids``, by tenant id (a tenant without one is left
    out), in one query whatever their number: for a page or a batch about many invoices."""
    return {a.tenant_id: a for a in BillingAccount.objects.filter(tenant_id__in=set(tenant_ids))}


def account_refusal(account: BillingAccount) -> str:
    """Why no invoice can be issued to ``account`` as it is stored (an account saved before
    one of these rules): what ``set_billing_account`` would refuse, said as text; empty when
    an invoice can be. Finalize asks it (``invoicing``)."""
    try:
        _reject_bad_country(account.country)
        _tax_rate(account.tax_rate)
        _reject_terms_no_invoice_can_carry(
            {
                field: getattr(account, field)
                for field in (*TEXT_FIELDS, "invoice_emails", "reverse_charge")
            }
        )
    except InvalidBillingAccount as refusal:
        return refusal.detail
    return ""


def _stated(account: BillingAccount | None) -> dict:
    """What the tenant states in ``account`` (``DETAIL_FIELDS``) in JSON types, as its audit
    event compares them; each None before there is an account."""
    if account is None:
        return dict.fromkeys(BillingAccount.DETAIL_FIELDS)
    return account.snapshot() | {"currency": account.currency}


def set_billing_account(
    tenant, data: dict, *, actor=None, request=None
) -> tuple[BillingAccount, bool]:
    """(account, created): create or replace the tenant's billing account (``data`` as
    validated by the API serializer for shape; the rules live here). Audited as
    ``billing_account_set`` with each field it changed, ``from`` and ``to``
    (``details.fields``; from None when it creates the account): the invoice emails are who
    receives the tenant's invoices, and the tax terms what they charge."""
    country = data["country"].upper()
    currency = data["currency"].upper()
    _reject_bad_country(country)
    _reject_unknown_currency(currency)
    values = {
        "legal_name": data["legal_name"],
        "address_line1": data["address_line1"],
        "address_line2": data.get("address_line2", ""),
        "postcode": data.get("postcode", ""),
        "city": data["city"],
        "country": country,
        "tax_id": data.get("tax_id", ""),
        "invoice_emails": _emails(data.get("invoice_emails", [])),
        "currency": currency,
        "tax_rate": _tax_rate(data.get("tax_rate", "0")),
        "reverse_charge": bool(data.get("reverse_charge", False)),
    }
    _reject_terms_no_invoice_can_carry(values)
    with transaction.atomic():
        before = _stated(BillingAccount.objects.select_for_update().filter(tenant=tenant).first())
        account, created = BillingAccount.objects.update_or_create(tenant=tenant, defaults=values)
        # A draft follows its tenant's tax terms until it is finalized: at once, so that it
        # shows what finalizing it would issue.
        follow_tax_terms(account, actor=actor, request=request)
        record_event(
            "billing_account_set",
            request=request,
            actor=actor,
            tenant=tenant,
            target=f"billing account {account.pk}",
            details={
                "created": created,
                "country": country,
                "currency": currency,
                "fields": field_changes(before, _stated(account)),
            },
        )
    return account, created
