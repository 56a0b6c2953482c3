"""Vendor payout doors: a vendor's admins and billing members read its payouts per month and
its statement for one month (JSON, or CSV with ``.csv`` or ``?format=csv``)."""

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import payout_queries
from billing.api import payout_serializers as s
from billing.api.renderers import UsageCSVRenderer
from billing.csv_stream import download
from billing.errors import InvalidPeriod
from billing.periods import (
    MONTH_PATTERN,
    month_label,
    month_start,
    months_between,
    optional_month,
    parse_month,
    recent_months,
)
from billing.powers import READ_PAYOUTS
from edgeplug.core.renderers import JsonErrorsMixin
from edgeplug.errors import BadRequest, NotFound
from edgeplug.tenancy.permissions import permission_class
from edgeplug.tenancy.scoping import request_tenant

DEFAULT_MONTHS = 12
MAX_MONTHS = 120


IsVendorBilling = permission_class(READ_PAYOUTS, "IsVendorBilling")


class VendorPayouts(APIView):
    """The vendor's payouts per month and currency (months with sales or refunds only)."""

    permission_classes = [IsVendorBilling]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from",
                str,
                pattern=MONTH_PATTERN,
                description="first month (default: 11 before to)",
            ),
            OpenApiParameter(
                "to",
                str,
                pattern=MONTH_PATTERN,
                description="last month, included (default: this one)",
            ),
        ],
        responses=s.PayoutListSerializer,
        operation_id="vendor_payouts_list",
    )
    def get(self, request):
        params = request.query_params
        last = optional_month(params.get("to"), field="to") or month_start(timezone.now())
        first = (
            optional_month(params.get("from"), field="from")
            or recent_months(DEFAULT_MONTHS, last)[0]
        )
        if first > last:
            raise InvalidPeriod("from must not be after to.", field="from")
        if len(months_between(first, last)) > MAX_MONTHS:
            raise InvalidPeriod(f"Ask for at most {MAX_MONTHS} months at a time.", field="from")
        rows = payout_queries.vendor_payouts(first, last, vendor_id=request_tenant(request).pk)
        return Response(
            {
                "from": month_label(first),
                "to": month_label(last),
                "payouts": [{"period": row.period, **row.payout.as_dict()} for row in rows],
            }
        )


class VendorPayoutStatement(JsonErrorsMixin, APIView):
    """The vendor's statement for one month: per currency gross, refunds, platform fee and
    net, per agent gross and refunds; as CSV (``.csv`` or ``?format=csv``) every line too.
    A month without sales or refunds has no statement (404)."""

    permission_classes = [IsVendorBilling]
    renderer_classes = [*APIView.renderer_classes, UsageCSVRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("period", str, OpenApiParameter.PATH, pattern=MONTH_PATTERN)],
        responses={
            200: OpenApiResponse(
                s.PayoutStatementSerializer,
                description="JSON; with ?format=csv a text/csv statement (also at .csv)",
            ),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request, period, format=None):
        label, dot, _ = period.partition(".")
        month = parse_month(label, field="period")
        if dot:  # "2026-02.json", "2026-02.csv.csv": the month is one, the format is not
            suffix = request.path.rsplit("/", 1)[-1].removeprefix(label)
            raise BadRequest(
                f"{suffix!r} is not a format of the statement: it is JSON at "
                f"{reverse('vendor-payout', kwargs={'period': label})} and CSV at "
                f"{reverse('vendor-payout-csv', kwargs={'period': label})}.",
                code="invalid_choice",
                field="format",
            )
        vendor = request_tenant(request)
        try:
            statement = payout_queries.vendor_statement(vendor, month)
        except Http404 as missing:  # its sentence, where the API says 'Not found.' to any 404
            raise NotFound(str(missing)) from None
        if request.accepted_renderer.format == "csv":
            return download(*payout_queries.statement_file(vendor, statement))
        return Response(
            {
                "period": statement.period,
                "vendor": vendor.slug,
                "payouts": [payout.as_dict() for payout in statement.payouts],
                "agents": [vars(agent) for agent in statement.agents],
                "statement_csv": reverse("vendor-payout-csv", kwargs={"period": statement.period}),
            }
        )


class VendorPayoutStatementCsv(VendorPayoutStatement):
    """The statement at its ``.csv`` address: CSV only (another ``Accept`` is 406
    ``not_acceptable``, ``?format=json`` 400 ``invalid_choice``), so its schema promises no
    JSON, which the JSON address's does."""

    @extend_schema(
        parameters=[OpenApiParameter("period", str, OpenApiParameter.PATH, pattern=MONTH_PATTERN)],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description="The vendor's statement of the month as CSV, every line of it (the JSON "
        "statement is at the address without .csv). A month without sales or refunds has no "
        "statement (404).",
    )
    def get(self, request, period, format=None):
        return super().get(request, period, format)
