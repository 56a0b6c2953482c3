"""Usage doors: devices post event batches; tenants read their usage and device gaps;
vendors read the usage of their agents."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
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


class DeviceUsageGaps(APIView):
    """Sequence numbers the device has not sent yet, below the highest one it has."""

    permission_classes = [CanManageDevices]

    @extend_schema(responses=s.UsageGapsSerializer)
    def get(self, request, pk):
        device = get_for_request(Device.objects.all(), request, pk=pk)
        gaps = usage.usage_gaps(device)
        return Response(
            {
                "device": device.pk,
                "highest_seq": gaps.highest_seq,
                "gaps": [{"first": first, "last": last} for first, last in gaps.missing],
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
_GROUPING = "(agent|device|day|hour)"


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
                pattern=f"^{_GROUPING}(,{_GROUPING})*$",
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
