"""Shapes of the billing API: saved payment methods."""

from rest_framework import serializers

from billing.models import PaymentMethod
from edgeplug.core.serializers import ReadOnlyModelSerializer, StrictSerializer


class PaymentMethodSerializer(ReadOnlyModelSerializer):
    class Meta:
        model = PaymentMethod
        fields = ["id", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]


class SetupStartedSerializer(serializers.Serializer):
    setup_intent = serializers.CharField(source="setup_intent_id")
    client_secret = serializers.CharField()
    customer = serializers.CharField(source="customer_id")


class RecordSetupSerializer(StrictSerializer):
    setup_intent = serializers.CharField(max_length=255)
