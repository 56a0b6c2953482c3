"""Shapes of the invoice API: invoices with their lines, the live upcoming invoice, the
billing account."""

from collections.abc import Callable, Iterable

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.billing_accounts import TAX_RATE_PATTERN
from billing.documents import codelists
from billing.documents.document import TAX_RATE_LIMIT
from billing.models import BillingAccount, Invoice, InvoiceLine, RefundedBy
from edgeplug.core.schema import ErrorSerializer
from edgeplug.core.serializers import (
    DocumentTextField,
    ReadOnlyModelSerializer,
    StrictSerializer,
)
from edgeplug.text import document_text_starting_with
from marketplace.pricing import CURRENCY_EXPONENTS


class InvoiceLineSerializer(ReadOnlyModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "id",
            "position",
            "kind",
            "description",
            "entitlement",
            "order",
            "quantity",
            "unit_amount",
            "amount",
            "is_paid",
            "period_start",
            "period_end",
            "usage_seconds",
            "breakdown",
        ]


class InvoiceSerializer(ReadOnlyModelSerializer):
    amount_due = serializers.IntegerField(
        read_only=True,
        help_text="what the invoice asks: total - prepaid_amount - credited_amount + "
        "rounding_amount (kept once paid)",
    )
    amount_paid = serializers.IntegerField(
        read_only=True,
        help_text="paid so far: total - credited_amount + rounding_amount once paid, else "
        "prepaid_amount",
    )
    amount_remaining = serializers.IntegerField(
        read_only=True, help_text="still owed: amount_due while unpaid, 0 once paid or void"
    )
    credit_of = serializers.SlugRelatedField(slug_field="number", read_only=True)
    tax_rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        source="vat_rate",
        read_only=True,
        help_text="the VAT rate the invoice declares, percent: 0.00 under reverse charge "
        "(subtotal * tax_rate / 100 is tax)",
    )
    # Declared: a read-only model field's choices would be published without its blank value.
    refunded_by = serializers.ChoiceField(
        choices=RefundedBy.choices,
        allow_blank=True,
        read_only=True,
        help_text="how a credit note's money went back; empty while owed, and on invoices",
    )

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "kind",
            "status",
            "credit_of",
            "currency",
            "period_start",
            "period_end",
            *Invoice.MONEY_FIELDS,
            "amount_due",
            "amount_paid",
            "amount_remaining",
            "tax_rate",
            "reverse_charge",
            "finalize_after",
            "finalized_at",
            "paid_at",
            "voided_at",
            "rollup_digest",
            "payment_attempts",
            "next_payment_attempt_at",
            "payment_failure_code",
            "payment_failure_detail",
            "refunded_at",
            "refund_reference",
            "refunded_by",
        ]


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    seller = serializers.SerializerMethodField()
    buyer = serializers.SerializerMethodField()

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "seller", "buyer", "lines"]

    def get_seller(self, invoice) -> dict:
        return invoice.account_snapshot.get("seller", {})

    def get_buyer(self, invoice) -> dict:
        return invoice.account_snapshot.get("buyer", {})


class InvoicePaymentErrorSerializer(ErrorSerializer):
    """402 of paying an invoice now: ``payment_method_required`` before any charge;
    ``card_declined`` or ``payment_failed`` (3-D Secure asked: ``payment_failure_code``
    ``authentication_required``) with the invoice, still unpaid."""

    invoice = InvoiceDetailSerializer(
        required=False,
        help_text="The invoice after the failed attempt (card_declined, payment_failed).",
    )

    class Meta:
        ref_name = "InvoicePaymentError"


class UpcomingLineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    description = serializers.CharField()
    entitlement = serializers.IntegerField(source="entitlement_id", allow_null=True)
    order = serializers.IntegerField(source="order_id", allow_null=True)
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6)
    unit_amount = serializers.DecimalField(max_digits=24, decimal_places=6)
    amount = serializers.IntegerField()
    is_paid = serializers.BooleanField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    usage_seconds = serializers.IntegerField(allow_null=True)
    breakdown = serializers.DictField()


class UpcomingInvoiceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    subtotal = serializers.IntegerField(source="totals.subtotal")
    tax = serializers.IntegerField(source="totals.tax")
    total = serializers.IntegerField(source="totals.total")
    prepaid_amount = serializers.IntegerField(source="totals.prepaid")
    rounding_amount = serializers.IntegerField(
        help_text="0, or what the close takes off in a three-decimal currency"
    )
    amount_due = serializers.IntegerField(
        help_text="total - prepaid_amount + rounding_amount, as the close would ask it"
    )
    lines = UpcomingLineSerializer(many=True)


class UpcomingSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    computed_at = serializers.DateTimeField()
    invoices = UpcomingInvoiceSerializer(many=True)


class BillingAccountSerializer(ReadOnlyModelSerializer):
    class Meta:
        model = BillingAccount
        fields = [*BillingAccount.DETAIL_FIELDS, "updated_at"]


@extend_schema_field({"type": "string", "pattern": TAX_RATE_PATTERN})
class TaxRateField(serializers.RegexField):
    """A percentage as text with at most two decimals. Which rates an account may have is the
    billing account's rule (``billing.billing_accounts``: what its invoices can carry), refused
    there as ``invalid_billing_account``; the schema publishes it as ``TAX_RATE_PATTERN``."""

    def __init__(self, **kwargs):
        written = f"a percentage from 0 to under {TAX_RATE_LIMIT} with at most two decimals"
        kwargs.setdefault("error_messages", {"invalid": f"Write {written}, e.g. 19.00."})
        # As sent (not stripped), ASCII digits: what the published pattern takes; 100 and
        # above are the billing account's to refuse.
        # \Z, not $: Python's $ also matches before a final newline ("19.00\n").
        super().__init__(r"^[0-9]{1,3}(\.[0-9]{1,2})?\Z", trim_whitespace=False, **kwargs)


class CodeField(serializers.CharField):
    """A code of a fixed list (``codes``), either case, stored in capitals. Which codes is the
    action's rule (``billing.billing_accounts``), refused as ``invalid_billing_account``; the
    schema publishes the list in either case (``CodeFieldSchema``)."""

    codes: Callable[[], Iterable[str]]

    def __init__(self, **kwargs):
        length = len(next(iter(self.codes())))
        # As sent, as the schema's pattern reads it: " de" is not a code.
        super().__init__(min_length=length, max_length=length, trim_whitespace=False, **kwargs)


class CountryField(CodeField):
    """EN 16931's country codes (``country_refusal``), Kosovo's 1A among them."""

    codes = staticmethod(codelists.country_codes)


class CurrencyField(CodeField):
    """The currencies prices are written in (``marketplace.pricing.CURRENCY_EXPONENTS``)."""

    codes = staticmethod(CURRENCY_EXPONENTS.keys)


class CodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = CodeField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        either_case = (
            "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in code)
            for code in sorted(self.target.codes())
        )
        return {**schema, "pattern": f"^(?:{'|'.join(either_case)})$"}


class VatNumberField(DocumentTextField):
    """A VAT number, blank or starting with its country's code in capitals (the invoice
    document's rule, ``tax_id_refusal``: BR-CO-09), refused as ``invalid_billing_account``;
    the schema publishes it with the document text rule (``VatNumberFieldSchema``)."""


class VatNumberFieldSchema(OpenApiSerializerFieldExtension):
    target_class = VatNumberField
    priority = 1  # over DocumentTextField's

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        pattern = document_text_starting_with(sorted(codelists.vat_prefixes()))
        # As DocumentTextField's: published beside the empty string (oneOf), so not it.
        return {**schema, "pattern": pattern, "minLength": 1}


class BillingAccountInSerializer(StrictSerializer):
    legal_name = DocumentTextField(max_length=200)
    address_line1 = DocumentTextField(max_length=200)
    address_line2 = DocumentTextField(max_length=200, required=False, allow_blank=True)
    postcode = DocumentTextField(max_length=20, required=False, allow_blank=True)
    city = DocumentTextField(max_length=100)
    country = CountryField(help_text="ISO 3166-1 alpha-2")
    tax_id = VatNumberField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="VAT number with its country prefix, e.g. DE123456789 (Greece: EL...)",
    )
    invoice_emails = serializers.ListField(
        child=serializers.EmailField(), max_length=10, required=False
    )
    currency = CurrencyField(help_text="ISO 4217, either case (stored in capitals)")
    tax_rate = TaxRateField(
        required=False,
        help_text="percent from 0 to under 100, at most two decimals, e.g. 19.00",
    )
    reverse_charge = serializers.BooleanField(
        required=False, help_text="VAT reverse-charged to the buyer: needs its tax_id"
    )
    # Reverse charge needs the buyer's VAT number (billing.billing_accounts, from the invoice
    # document's rule); the OpenAPI schema publishes the same rule (anyOf).
    schema_any_of = (
        {"properties": {"reverse_charge": {"not": {"enum": [True]}}}},
        {"required": ["tax_id"], "properties": {"tax_id": {"pattern": r"\S"}}},
    )
