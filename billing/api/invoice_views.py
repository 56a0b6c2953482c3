"""Invoices for tenant admins and billing members: /api/v1/invoices (list, detail, the live
upcoming invoice, paying one now) and /api/v1/billing/account. Another tenant's invoice is a
404."""

import django_filters
from django import forms
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import billing_accounts, collection, invoice_documents, invoicing, payments
from billing.api import invoice_serializers as s
from billing.errors import NoBillingAccountYet, PaymentsNotConfigured, charge_refusal
from billing.models import BillingAccount, Invoice, InvoiceKind, InvoiceStatus
from billing.periods import MONTH_PATTERN, month_start, next_month, optional_month
from edgeplug.core.filters import FilterSet
from edgeplug.core.renderers import JsonErrorsMixin, PdfRenderer
from edgeplug.core.schema import error_response
from edgeplug.core.serializers import validated
from edgeplug.tenancy.permissions import CanBuy
from edgeplug.tenancy.scoping import for_request, get_for_request, request_tenant


class _MonthField(forms.Field):
    """The month of a query parameter, None when it is absent (``optional_month``). The value
    reaches the parser as given: a ``CharField`` would strip `` 2026-01`` to a month that every
    other door refuses, and make an empty value look absent."""

    def to_python(self, value):
        return optional_month(value, field="period")


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-01"})
class PeriodFilter(django_filters.Filter):
    """``period=YYYY-MM``: invoices of that UTC month; another value, an empty one included,
    is ``400 invalid_period`` (raised while the filter form is cleaned, before the filter set's
    generic ``blank`` refusal)."""

    field_class = _MonthField

    def filter(self, qs, value):
        return qs if value is None else qs.filter(period_start=value)


class InvoiceFilter(FilterSet):
    period = PeriodFilter(label="UTC month, YYYY-MM")
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices)

    class Meta:
        model = Invoice
        fields = ["period", "status", "kind"]


def _invoices(request):
    return for_request(Invoice.objects.select_related("credit_of"), request).order_by(
        "-period_start", "-id"
    )


class InvoiceList(generics.ListAPIView):
    """The tenant's invoices and credit notes, newest period first (drafts included)."""

    serializer_class = s.InvoiceSerializer
    permission_classes = [CanBuy]
    filterset_class = InvoiceFilter
    ordering_fields = ["period_start", "finalized_at", "total"]

    def get_queryset(self):
        return _invoices(self.request)


class InvoiceDetail(generics.RetrieveAPIView):
    """One invoice with its lines, each with the breakdown it was priced by."""

    serializer_class = s.InvoiceDetailSerializer
    permission_classes = [CanBuy]

    def get_queryset(self):
        return _invoices(self.request).prefetch_related("lines")


class InvoicePdf(JsonErrorsMixin, APIView):
    """The finalized invoice or credit note as PDF/A-3 with its Factur-X (EN 16931) XML
    embedded; a draft has no document yet (409 ``invoice_not_finalized``), a void invoice's
    is withdrawn (409 ``invoice_void``); one whose stored data a rule added since refuses has
    none to give (422 ``invalid_invoice_document``)."""

    permission_classes = [CanBuy]
    renderer_classes = [PdfRenderer]  # another Accept is 406 not_acceptable

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            409: error_response(
                409,
                "invoice_not_finalized: a draft has no document yet; invoice_void: a void "
                "invoice's document is withdrawn (nothing is due).",
            ),
            422: error_response(
                422,
                "invalid_invoice_document: the finalized document's stored data is refused by a "
                "rule added since (a buyer's country such as ZZ): no PDF can be made of it.",
            ),
        }
    )
    def get(self, request, pk):
        invoice = get_for_request(_invoices(request), request, pk=pk)
        response = HttpResponse(invoice_documents.invoice_pdf(invoice), "application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response


class InvoicePay(APIView):
    """Pay a finalized, unpaid invoice now on the tenant's default card (its card payment
    failed, and the card works again): one attempt, as finance's *Retry payment now* makes it
    (``collection.retry_invoice_payment``). Paid, the invoice is answered as
    ``GET /api/v1/invoices/{id}`` shows it, and entitlements suspended for it are active
    again; a failed attempt counts in the dunning as a scheduled one."""

    permission_classes = [CanBuy]

    @extend_schema(
        request=None,
        responses={
            200: s.InvoiceDetailSerializer,
            202: OpenApiResponse(
                s.InvoiceDetailSerializer,
                description="The processor is still processing the charge: the invoice stays "
                "unpaid until its outcome arrives (by webhook); another payment is refused "
                "meanwhile (409 payment_pending).",
            ),
            402: error_response(
                402,
                "payment_method_required: no card on file, nothing charged; card_declined or "
                "payment_failed (e.g. the bank asks for 3-D Secure, which an off-session "
                "charge cannot pass: payment_failure_code authentication_required) with the "
                "`invoice`, still unpaid.",
                s.InvoicePaymentErrorSerializer,
            ),
            409: error_response(
                409,
                "invoice_not_collectable: a draft, paid or void invoice, a credit note, or "
                "nothing left due; payment_pending: the last attempt is still processing; "
                "amount_below_minimum / amount_above_maximum: no card charge can take the "
                "amount due (pay it by bank transfer).",
            ),
            502: error_response(
                502,
                "payment_processor_error: the processor could not be reached; nothing is "
                "recorded and the same request tries the same attempt again.",
            ),
        },
    )
    def post(self, request, pk):
        invoices = _invoices(request).prefetch_related("lines")
        invoice = get_for_request(invoices, request, pk=pk)
        if not payments.configured():
            raise PaymentsNotConfigured("Payments are not configured on this server.")
        attempt = collection.retry_invoice_payment(
            invoice, actor=request.user, request=request, asked_by="tenant"
        )
        body = s.InvoiceDetailSerializer(get_for_request(invoices, request, pk=pk)).data
        if attempt.outcome == InvoiceStatus.PAID:
            return Response(body)
        if attempt.outcome == "pending":
            return Response(body, status=status.HTTP_202_ACCEPTED)
        refusal = charge_refusal(
            attempt.invoice.payment_failure_code, attempt.invoice.payment_failure_detail
        )
        return Response({**refusal.as_dict(), "invoice": body}, status=refusal.status)


class UpcomingInvoice(APIView):
    """What the current UTC month would invoice if it closed now: computed on each request
    from the usage so far, never stored."""

    permission_classes = [CanBuy]

    @extend_schema(responses=s.UpcomingSerializer)
    def get(self, request):
        now = timezone.now()
        start = month_start(now)
        upcoming = invoicing.upcoming_invoices(request_tenant(request).pk, now)
        return Response(
            s.UpcomingSerializer(
                {
                    "period_start": start,
                    "period_end": next_month(start),
                    "computed_at": now,
                    "invoices": upcoming,
                }
            ).data
        )


class BillingAccountView(APIView):
    """Who the tenant's invoices are addressed to; PUT replaces it (finalized invoices keep
    the address they were issued with)."""

    permission_classes = [CanBuy]

    @extend_schema(
        responses={
            200: s.BillingAccountSerializer,
            404: error_response(
                404, "not_found: no billing account yet; PUT one with the legal name and address."
            ),
        }
    )
    def get(self, request):
        account = for_request(BillingAccount.objects.all(), request).first()
        if account is None:
            raise NoBillingAccountYet(
                "No billing account yet: PUT /api/v1/billing/account with the legal name and "
                "address (invoices are finalized only once it exists)."
            )
        return Response(s.BillingAccountSerializer(account).data)

    @extend_schema(
        request=s.BillingAccountInSerializer,
        responses={201: s.BillingAccountSerializer, 200: s.BillingAccountSerializer},
        description="201 when this PUT created the account, 200 when it replaced it.",
    )
    def put(self, request):
        data = validated(s.BillingAccountInSerializer, request)
        account, created = billing_accounts.set_billing_account(
            request_tenant(request), data, actor=request.user, request=request
        )
        return Response(
            s.BillingAccountSerializer(account).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
