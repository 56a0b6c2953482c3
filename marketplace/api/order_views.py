"""Customers buy agents: /api/v1/orders (Idempotency-Key required) and /api/v1/entitlements
(a metered one cancelled at the month's end, or resumed)."""

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.errors import charge_refusal
from edgeplug.core.filters import FilterSet, id_filter
from edgeplug.core.schema import error_response
from edgeplug.core.serializers import refuse_body, validated
from edgeplug.tenancy.permissions import CanBuy, IsMember
from edgeplug.tenancy.scoping import for_request, get_for_request
from marketplace import cancellation, orders
from marketplace.api import commerce_serializers as s
from marketplace.api.preconditions import if_match, if_match_parameter
from marketplace.errors import UnknownAgent
from marketplace.models import Entitlement, EntitlementStatus, Order, OrderStatus
from marketplace.visibility import held_or_visible_agents

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": orders.IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=True,
    description="Any unique string; a retry with the same key and body returns the same order.",
)


def _orders(request):
    return for_request(
        Order.objects.select_related("agent", "plan", "entitlement").order_by("-created_at", "-id"),
        request,
    )


class OrderFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)

    class Meta:
        model = Order
        fields = ["status"]


PINNED_PLAN = if_match_parameter("plan", "plan_changed", "charging its new price")


class OrderListCreate(generics.ListAPIView):
    serializer_class = s.OrderSerializer
    permission_classes = [CanBuy]
    filterset_class = OrderFilter
    # The serializer's columns by its names; not the free text and ids of the payment
    # processor.
    ordering_fields = [
        "id",
        ("agent_id", "agent"),
        ("plan_id", "plan"),
        "seats",
        "status",
        "currency",
        "amount",
        "created_at",
        "completed_at",
        "refunded_at",
    ]

    def get_queryset(self):
        return _orders(self.request)

    @extend_schema(
        request=s.CreateOrderSerializer,
        parameters=[IDEMPOTENCY_KEY, PINNED_PLAN],
        responses={
            201: s.OrderSerializer,
            200: s.OrderSerializer,
            400: error_response(
                400,
                "unknown_plan, unknown_agent: the body names no plan, or no agent, that you "
                "can see in the catalogue (absent and another tenant's hidden one alike); "
                "plan_mismatch: the plan is another agent's; own_agent, not_available, "
                "idempotency_key_required (no Idempotency-Key), invalid_idempotency_key (one "
                "too long, or not printable ASCII).",
            ),
            402: error_response(
                402,
                "payment_method_required (no saved card), payment_overdue (an invoice is "
                "uncollectible); card_declined or payment_failed with the failed `order`.",
                s.OrderPaymentErrorSerializer,
            ),
            412: error_response(
                412,
                "plan_changed: the plan's terms changed since the etag sent in If-Match; "
                "nothing is ordered.",
            ),
            502: error_response(
                502,
                "payment_processor_error: the charge could not be made; the order stays "
                "pending and the same request (same Idempotency-Key) tries it again.",
            ),
        },
    )
    def post(self, request):
        data = validated(s.CreateOrderSerializer, request)
        order, created = orders.place_order(
            request.tenant,
            agent_id=data["agent"],
            plan_id=data["plan"],
            seats=data["seats"],
            seen=if_match(request),
            idempotency_key=request.headers.get("Idempotency-Key"),
            actor=request.user,
            request=request,
        )
        order = orders.collect_payment(order)
        order = _orders(request).get(pk=order.pk)
        body = s.OrderSerializer(order).data
        if order.status == OrderStatus.FAILED:
            refusal = charge_refusal(order.failure_code, order.failure_detail)
            response = Response({**refusal.as_dict(), "order": body}, status=refusal.status)
        else:
            response = Response(
                body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
            )
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


@extend_schema_view(
    get=extend_schema(
        responses={
            200: s.OrderSerializer,
            402: error_response(
                402,
                "payment_method_required: a pending order's charge is tried again, and the "
                "tenant has no saved card any more.",
            ),
            502: error_response(
                502,
                "payment_processor_error: the processor could not be asked how the payment "
                "went (or charged); the order stays pending and the next request tries "
                "again.",
            ),
        }
    )
)
class OrderDetail(generics.RetrieveAPIView):
    """An order; one whose payment may have changed (awaited, or failed but payable again in
    the browser) is first brought up to date with the processor."""

    serializer_class = s.OrderSerializer
    permission_classes = [CanBuy]

    def get_queryset(self):
        return _orders(self.request)

    def get_object(self):
        order = super().get_object()
        if orders.payment_may_change(order):
            orders.collect_payment(order)
            order = super().get_object()
        return order


class EntitlementFilter(FilterSet):
    # Its status now (``status_at``: expired once its validity ended, the job or not).
    status = django_filters.ChoiceFilter(field_name="status_at", choices=EntitlementStatus.choices)
    # An agent id: one of an agent the caller may see or holds, else 400 unknown_agent.
    agent = id_filter(method="filter_agent", label="an agent you can see (else 400 unknown_agent)")

    class Meta:
        model = Entitlement
        fields = ["status", "agent"]

    def filter_agent(self, queryset, name, value):
        return self.narrowed_to(
            queryset,
            name,
            value,
            visible=held_or_visible_agents(self.request),
            error=UnknownAgent,
            lookup="pk",
            field="agent_id",
        )


def _entitlements(request):
    """The caller's tenant's entitlements, each with its status now (``with_status_at``: the
    expiry job stores ``expired`` up to 15 minutes after the validity ended; downloads and
    assignments do not wait for it, nor does this)."""
    return for_request(
        Entitlement.objects.with_status_at(timezone.now()).select_related("agent", "agent__tenant"),
        request,
    )


class EntitlementList(generics.ListAPIView):
    serializer_class = s.EntitlementSerializer
    permission_classes = [IsMember]
    filterset_class = EntitlementFilter
    # The serializer's columns by its names; ``status`` by the status each row shows, its
    # status now (``status_at``, as ``?status=`` filters).
    ordering_fields = [
        ("agent_id", "agent"),
        ("agent__name", "agent_name"),
        ("agent__tenant__slug", "vendor"),
        "created_at",
        "id",
        ("order_id", "order"),
        "seats",
        ("status_at", "status"),
        "status_reason",
        "valid_from",
        "valid_until",
    ]

    def get_queryset(self):
        return _entitlements(self.request).order_by("-created_at", "-id")


class EntitlementDetail(generics.RetrieveAPIView):
    serializer_class = s.EntitlementSerializer
    permission_classes = [IsMember]

    def get_queryset(self):
        return _entitlements(self.request)


ENDED = (
    "entitlement_ended: it is revoked or expired, or its cancellation has come (the month "
    "it was cancelled in is over)"
)


def _rendered(request, entitlement: Entitlement) -> Response:
    return Response(s.EntitlementSerializer(_entitlements(request).get(pk=entitlement.pk)).data)


# Cancel or resume a metered entitlement (``marketplace.cancellation``): who may buy may end
# what was bought. (A comment: the schema would print a docstring as each view's description.)
class EntitlementChange(APIView):
    permission_classes = [CanBuy]
    change = None

    def post(self, request, pk):
        entitlement = get_for_request(Entitlement.objects.all(), request, pk=pk)
        refuse_body(request)
        changed = self.change(entitlement, actor=request.user, request=request)
        return _rendered(request, changed)


@extend_schema_view(
    post=extend_schema(
        request=None,
        responses={
            200: s.EntitlementSerializer,
            409: error_response(
                409,
                "not_cancellable: a one-time or free entitlement bills nothing month by month "
                f"(only a metered plan is cancelled); {ENDED}.",
            ),
        },
        description=(
            "Cancel a metered plan at the end of this UTC month: it stays usable (devices "
            "report) and billed, monthly fee and agent-hours, until the next month starts "
            "(its `valid_until` and `cancel_at`), and no month after. Cancelled already: "
            "200 with the same entitlement."
        ),
    )
)
class EntitlementCancel(EntitlementChange):
    change = staticmethod(cancellation.cancel_entitlement)


@extend_schema_view(
    post=extend_schema(
        request=None,
        responses={
            200: s.EntitlementSerializer,
            409: error_response(409, f"not_cancelled: no cancellation to take back; {ENDED}."),
        },
        description=(
            "Take back a cancellation before the month it ends ends: the plan is open-ended "
            "again, billed every month."
        ),
    )
)
class EntitlementResume(EntitlementChange):
    change = staticmethod(cancellation.resume_entitlement)
