"""Shapes of the commerce API: price plans, orders, entitlements."""

from django.utils.http import quote_etag
from rest_framework import serializers

from edgeplug.core.pagination import page_serializer
from edgeplug.core.schema import AGENT_AS_ID, AGENT_AS_NAME, AGENT_ID, AGENT_NAME, ErrorSerializer
from edgeplug.core.serializers import (
    ActionCheckedChoiceField,
    ActionRequiredCharField,
    DocumentTextField,
    IsSetField,
    JSONTextField,
    ReadOnlyModelSerializer,
    StrictSerializer,
)
from marketplace import plans
from marketplace.models import (
    MAX_STARS,
    Deployment,
    Device,
    Entitlement,
    Order,
    OrderStatus,
    PlanKind,
    PricePlan,
    Review,
)
from marketplace.packageformat.schema import target_cores
from marketplace.reviews import review_fingerprint


class PricePlanSerializer(ReadOnlyModelSerializer):
    retired = IsSetField(source="retired_at")
    agent = serializers.IntegerField(source="agent_id", read_only=True, help_text=AGENT_AS_ID)
    etag = serializers.SerializerMethodField(
        help_text="The plan as read here, as an entity tag: sent back in If-Match, an order "
        "(or a vendor's change) made on terms changed since is refused, 412 plan_changed."
    )

    class Meta:
        model = PricePlan
        fields = [
            "id",
            "agent",
            "key",
            "version",
            "name",
            "kind",
            "currency",
            "amount",
            "terms",
            "is_current",
            "retired",
            "retired_at",
            "created_at",
            "etag",
        ]

    def get_etag(self, plan) -> str:
        return quote_etag(plans.plan_fingerprint(plan))


class CreatePlanSerializer(StrictSerializer):
    key = serializers.SlugField(max_length=64)
    name = DocumentTextField(max_length=100)
    kind = serializers.ChoiceField(choices=PlanKind.choices)
    currency = serializers.CharField(max_length=3, required=False, default="", allow_blank=True)
    amount = serializers.IntegerField(min_value=0, required=False, default=0)
    terms = JSONTextField(required=False, default=dict)

    def validate_currency(self, value: str) -> str:
        return value.upper()


class RevisePlanSerializer(StrictSerializer):
    name = DocumentTextField(max_length=100, required=False)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True)
    amount = serializers.IntegerField(min_value=0, required=False)
    terms = JSONTextField(required=False)

    def validate_currency(self, value: str) -> str:
        return value.upper()


class NotEntitledSerializer(ErrorSerializer):
    """403 `not_entitled` of a download: the error and the plans that would entitle."""

    plans = PricePlanSerializer(
        many=True, required=False, help_text="The agent's plans on offer (not_entitled)."
    )

    class Meta:
        ref_name = "NotEntitledError"


class CreateOrderSerializer(StrictSerializer):
    agent = serializers.IntegerField(min_value=1)
    plan = serializers.IntegerField(min_value=1)
    seats = serializers.IntegerField(min_value=1, max_value=100_000, default=1)


class OrderSerializer(ReadOnlyModelSerializer):
    plan = PricePlanSerializer(read_only=True)
    agent = serializers.IntegerField(source="agent_id", read_only=True, help_text=AGENT_AS_ID)
    agent_name = serializers.CharField(source="agent.name", read_only=True, help_text=AGENT_NAME)
    entitlement = serializers.SerializerMethodField()
    client_secret = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "agent",
            "agent_name",
            "plan",
            "seats",
            "status",
            "currency",
            "amount",
            "breakdown",
            "payment_intent_id",
            "client_secret",
            "failure_code",
            "failure_detail",
            "entitlement",
            "created_at",
            "completed_at",
            "refunded_at",
        ]

    def get_entitlement(self, obj) -> int | None:
        entitlement = getattr(obj, "entitlement", None)
        return entitlement.pk if entitlement is not None else None

    def get_client_secret(self, obj) -> str | None:
        # Only while the customer still has to confirm (3-D Secure).
        return obj.client_secret if obj.status == OrderStatus.REQUIRES_ACTION else None


class OrderPaymentErrorSerializer(ErrorSerializer):
    """402 of placing an order: `payment_method_required` or `payment_overdue` before any
    order is made; `card_declined` or `payment_failed` with the order, now `failed`."""

    order = OrderSerializer(
        required=False, help_text="The failed order (card_declined, payment_failed)."
    )

    class Meta:
        ref_name = "OrderPaymentError"


class EntitlementSerializer(ReadOnlyModelSerializer):
    agent = serializers.IntegerField(source="agent_id", read_only=True, help_text=AGENT_AS_ID)
    agent_name = serializers.CharField(source="agent.name", read_only=True, help_text=AGENT_NAME)
    vendor = serializers.CharField(source="agent.tenant.slug", read_only=True)
    plan = serializers.JSONField(source="plan_snapshot", read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True)
    # Its status now: the views read it with ``with_status_at``.
    status = serializers.ChoiceField(
        source="status_at", choices=Entitlement._meta.get_field("status").choices, read_only=True
    )
    cancelled_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the tenant cancelled it; null if not."
    )
    cancel_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When a cancelled plan ends, or ended (its `valid_until`: the start of the "
        "UTC month after the one it was cancelled in); null if not cancelled, or ended "
        "otherwise since (revoked by a refund in full).",
    )

    class Meta:
        model = Entitlement
        fields = [
            "id",
            "agent",
            "agent_name",
            "vendor",
            "plan",
            "order",
            "seats",
            "status",
            "status_reason",
            "valid_from",
            "valid_until",
            "cancelled_at",
            "cancel_at",
            "created_at",
        ]


class DeviceSerializer(ReadOnlyModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Device
        fields = [
            "id",
            "name",
            "hardware_id",
            "core",
            "token_prefix",
            "token_created_at",
            "active",
            "revoked_at",
            "last_seen_at",
            "created_at",
        ]


class RegisterDeviceSerializer(StrictSerializer):
    # No control character (invalid_device_text): the schema publishes the rule.
    name = DocumentTextField(max_length=100)
    hardware_id = DocumentTextField(max_length=128)
    core = ActionCheckedChoiceField(
        choices=target_cores(),
        help_text="the device's Cortex-M core, as packages name it (anything else is 400 "
        "invalid_core)",
    )


class IssuedTokenSerializer(serializers.Serializer):
    device = DeviceSerializer()
    token = serializers.CharField(help_text="shown once; store it on the device")


class DeploymentSerializer(ReadOnlyModelSerializer):
    device = serializers.IntegerField(source="device_id", read_only=True)
    agent = serializers.IntegerField(source="agent_id", read_only=True, help_text=AGENT_AS_ID)
    agent_name = serializers.CharField(source="agent.name", read_only=True, help_text=AGENT_NAME)
    version = serializers.CharField(source="version.version", read_only=True)

    class Meta:
        model = Deployment
        fields = ["id", "device", "agent", "agent_name", "version", "created_at", "updated_at"]


class CreateDeploymentSerializer(StrictSerializer):
    agent = serializers.IntegerField(min_value=1)
    version = serializers.CharField(max_length=128)


class AssignmentSerializer(serializers.Serializer):
    deployment = serializers.IntegerField()
    agent = serializers.CharField(help_text=AGENT_AS_NAME)
    agent_id = serializers.IntegerField(
        help_text=f"{AGENT_ID} What usage events name in `agent` (docs/metering.md)."
    )
    vendor = serializers.CharField()
    version = serializers.CharField()
    digest = serializers.CharField()
    reason = serializers.CharField(
        required=False,
        help_text=(
            "in stop: version_yanked, review_rejected, certificate_invalid, "
            "entitlement_inactive or seat_limit_exceeded (older deployments hold all the seats "
            "in force)"
        ),
    )
    entitlement_status = serializers.CharField(
        required=False, help_text="with entitlement_inactive: suspended, revoked, expired or none"
    )
    certificate_id = serializers.IntegerField(required=False)
    certificate_key_id = serializers.CharField(required=False)
    certificate_expires_at = serializers.DateTimeField(required=False)
    download_url = serializers.CharField(required=False)


class AssignmentsSerializer(serializers.Serializer):
    run = AssignmentSerializer(many=True)
    stop = AssignmentSerializer(many=True)


class ReviewSerializer(ReadOnlyModelSerializer):
    tenant = serializers.CharField(source="tenant.name", read_only=True)
    etag = serializers.SerializerMethodField(
        help_text="What the review says, as an entity tag: its vendor sends it back in "
        "If-Match with a reply, so a reply to a review rewritten since is refused, "
        "412 review_changed."
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "tenant",
            "stars",
            "title",
            "text",
            "created_at",
            "updated_at",
            "vendor_reply",
            "vendor_reply_at",
            "etag",
        ]

    def get_etag(self, review) -> str:
        return quote_etag(review_fingerprint(review))


class SubmitReviewSerializer(StrictSerializer):
    stars = serializers.IntegerField(min_value=1, max_value=MAX_STARS)
    title = serializers.CharField(max_length=120)
    text = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")


class ReplySerializer(StrictSerializer):
    # Checked by reply_to_review (reply_required, reply_too_long, invalid_review_text), as the
    # portal's reply form.
    text = ActionRequiredCharField(
        min_length=1, max_length=Review._meta.get_field("vendor_reply").max_length
    )


class RatingSummarySerializer(serializers.Serializer):
    average = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()
    histogram = serializers.DictField(child=serializers.IntegerField())


ReviewPageSerializer = page_serializer(
    "PaginatedReviewWithSummaryList", ReviewSerializer, summary=RatingSummarySerializer()
)
