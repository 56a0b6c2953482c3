"""Usage doors: devices post event batches; tenants read their usage and device gaps;
vendors read the usage of their agents."""

from typing import NamedTuple

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from billing import usage, usage_reports
from billing.api import usage_serializers as s
from billing.api.renderers import UsageCSVRenderer
from billing.api.usage_parsers import DecodedBatch, UsageBatchParser
from billing.usage_format import parse_batch
from edgeplug.core.renderers import JsonErrorsMixin
from edgeplug.core.throttling import DeviceThrottle
from edgeplug.tenancy.permissions import CanManageDevices, CanReadUsage
from edgeplug.tenancy.scoping import get_for_request
from edgeplug.text import ascii_integer
from marketplace.api.device_auth import DeviceTokenAuthentication, IsDevice
from marketplace.api.permissions import IsVendorPublisher
from marketplace.models import Device


class UsageEvents(APIView):
    """Report a batch of up to 1,000 usage events (docs/metering.md)."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    # A budget per device, not per tenant: a fleet's devices report independently.
    throttle_classes = [DeviceThrottle]
    parser_classes = [UsageBatchParser]

    @extend_schema(request=s.UsageBatchSerializer, responses=s.UsageBatchResultSerializer)
    def post(self, request):
        data = request.data
        events = data if isinstance(data, DecodedBatch) else parse_batch(data)
        result = usage.record_usage_batch(request.auth, events)
        return Response(
            {
                "results": [
                    {"seq": o.seq, "outcome": o.outcome, **({"code": o.code} if o.code else {})}
                    for o in result.outcomes
                ],
                "totals": result.totals,
            }
        )


GAPS_PAGE_SIZE, GAPS_MAX_PAGE_SIZE = 1000, 10_000


class _Number(NamedTuple):
    """A whole number a query parameter takes: its ``default``, the ``least`` it may be (the
    schema publishes it as the minimum) and the ``most`` it is capped at."""

    name: str
    default: int
    least: int
    most: int

    def parameter(self, description: str) -> OpenApiParameter:
        schema = {"type": "integer", "minimum": self.least}
        return OpenApiParameter(self.name, schema, description=description)

    def read(self, request) -> int:
        """The parameter: at most 19 ASCII digits (a 64-bit seq), from ``least`` up, capped at
        ``most``; else a 400 ``invalid_<name>``."""
        raw = request.query_params.get(self.name)
        if raw is None:
            return self.default
        number = ascii_integer(raw) if len(raw) <= 19 else None
        if number is None or number < self.least:
            raise ValidationError(
                {self.name: [f"Must be a whole number from {self.least}."]},
                code=f"invalid_{self.name}",
            )
        return min(number, self.most)


_AFTER = _Number("after", default=0, least=0, most=2**63 - 1)
_PAGE_SIZE = _Number("page_size", default=GAPS_PAGE_SIZE, least=1, most=GAPS_MAX_PAGE_SIZE)


class DeviceUsageGaps(APIView):
    """Sequence numbers the device has not sent yet, below the highest one it has, in
    ascending order, a page at a time: ``next`` is the next page's URL, or null."""

    permission_classes = [CanManageDevices]

    @extend_schema(
        parameters=[
            _AFTER.parameter(
                "only gaps above this seq (default 0: all); the next page starts after the "
                "last gap of this one"
            ),
            _PAGE_SIZE.parameter(
                f"gaps per page (default {GAPS_PAGE_SIZE}, at most {GAPS_MAX_PAGE_SIZE})"
            ),
        ],
        responses=s.UsageGapsSerializer,
    )
    def get(self, request, pk):
        device = get_for_request(Device.objects.all(), request, pk=pk)
        gaps = usage.usage_gaps(device, after=_AFTER.read(request), most=_PAGE_SIZE.read(request))
        url = request.build_absolute_uri()
        return Response(
            {
                "device": device.pk,
                "highest_seq": gaps.highest_seq,
                "gaps": [{"first": first, "last": last} for first, last in gaps.missing],
                "next": replace_query_param(url, "after", gaps.missing[-1][1])
                if gaps.more
                else None,
            }
        )


_PERIOD = [
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description="first UTC day, inclusive, YYYY-MM-DD (default: the first of this month, "
        "or of the month that to closes)",
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description="UTC day after the last, exclusive, YYYY-MM-DD (default: the first of "
        "next month)",
    ),
]


class TenantUsage(JsonErrorsMixin, APIView):
    """The tenant's agent-hours in a period, grouped by agent, device, day and/or hour;
    ``Accept: text/csv`` for a spreadsheet."""

    permission_classes = [CanReadUsage]
    renderer_classes = [*APIView.renderer_classes, UsageCSVRenderer]

    @extend_schema(
        parameters=[
            *_PERIOD,
            OpenApiParameter(
                "group_by",
                str,
                description="comma list of agent, device, day, hour (default agent)",
                pattern=usage_reports.GROUPING_PATTERN,
            ),
        ],
        responses=s.UsageReportSerializer,
    )
    def get(self, request):
        period = usage_reports.parse_period(request.query_params)
        group_by = usage_reports.parse_grouping(request.query_params.get("group_by", "agent"))
        rows = usage_reports.tenant_usage(request, period, group_by)
        return Response(_report(period, group_by, rows))


class VendorUsage(JsonErrorsMixin, APIView):
    """Agent-hours of the vendor's agents per customer tenant and day."""

    permission_classes = [IsVendorPublisher]
    renderer_classes = [*APIView.renderer_classes, UsageCSVRenderer]

    @extend_schema(parameters=_PERIOD, responses=s.UsageReportSerializer)
    def get(self, request):
        period = usage_reports.parse_period(request.query_params)
        rows = usage_reports.vendor_usage(request, period)
        return Response(_report(period, usage_reports.VENDOR_GROUPING, rows))


def _report(period, group_by, rows) -> dict:
    return {
        "from": period.start,
        "to": period.end,
        "group_by": list(group_by),
        "columns": usage_reports.columns(group_by),
        "rows": rows,
    }
