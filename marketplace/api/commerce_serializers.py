"""Shapes of the commerce API: price plans, orders, entitlements."""

from rest_framework import serializers

from edgeplug.core.serializers import StrictSerializer
from marketplace.models import Entitlement, Order, PlanKind, PricePlan


class PricePlanSerializer(serializers.ModelSerializer):
    retired = serializers.SerializerMethodField()
    agent = serializers.IntegerField(source="agent_id", read_only=True)

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
        ]
        read_only_fields = fields

    def get_retired(self, obj) -> bool:
        return obj.retired_at is not None


class CreatePlanSerializer(StrictSerializer):
    key = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=PlanKind.choices)
    currency = serializers.CharField(max_length=3, required=False, default="", allow_blank=True)
    amount = serializers.IntegerField(min_value=0, required=False, default=0)
    terms = serializers.JSONField(required=False, default=dict)

    def validate_currency(self, value: str) -> str:
        return value.upper()


class RevisePlanSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True)
    amount = serializers.IntegerField(min_value=0, required=False)
    terms = serializers.JSONField(required=False)

    def validate_currency(self, value: str) -> str:
        return value.upper()


class CreateOrderSerializer(StrictSerializer):
    agent = serializers.IntegerField(min_value=1)
    plan = serializers.IntegerField(min_value=1)
    seats = serializers.IntegerField(min_value=1, max_value=100_000, default=1)


class OrderSerializer(serializers.ModelSerializer):
    plan = PricePlanSerializer(read_only=True)
    agent = serializers.IntegerField(source="agent_id", read_only=True)
    entitlement = serializers.SerializerMethodField()
    client_secret = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "agent",
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
        ]
        read_only_fields = fields

    def get_entitlement(self, obj) -> int | None:
        entitlement = getattr(obj, "entitlement", None)
        return entitlement.pk if entitlement is not None else None

    def get_client_secret(self, obj) -> str | None:
        # Only while the customer still has to confirm (3-D Secure).
        return obj.client_secret if obj.status == "requires_action" else None


class EntitlementSerializer(serializers.ModelSerializer):
    agent = serializers.IntegerField(source="agent_id", read_only=True)
    agent_name = serializers.CharField(source="agent.name", read_only=True)
    vendor = serializers.CharField(source="agent.tenant.slug", read_only=True)
    plan = serializers.JSONField(source="plan_snapshot", read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True)

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
            "created_at",
        ]
        read_only_fields = fields
