"""Shapes of the vendor payout API, for the OpenAPI schema (the views build plain dicts)."""

from rest_framework import serializers

from edgeplug.core.schema import AGENT_AS_NAME, AGENT_ID


class PayoutFiguresSerializer(serializers.Serializer):
    currency = serializers.CharField()
    gross = serializers.IntegerField(help_text="minor units: sales of the period")
    refunds = serializers.IntegerField(help_text="minor units: refunds and credit notes")
    fee_percent = serializers.CharField(help_text="platform fee, percent (decimal string)")
    platform_fee = serializers.IntegerField(help_text="minor units, on gross less refunds")
    net = serializers.IntegerField(help_text="minor units: gross - refunds - platform_fee")


class PeriodPayoutSerializer(PayoutFiguresSerializer):
    period = serializers.CharField(help_text="YYYY-MM")


class PayoutListSerializer(serializers.Serializer):
    locals()["from"] = serializers.CharField(help_text="first month, YYYY-MM")
    to = serializers.CharField(help_text="last month, YYYY-MM (included)")
    payouts = PeriodPayoutSerializer(many=True)


class AgentFiguresSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField(help_text=AGENT_ID)
    agent = serializers.CharField(help_text=AGENT_AS_NAME)
    currency = serializers.CharField()
    gross = serializers.IntegerField()
    refunds = serializers.IntegerField()


class PayoutStatementSerializer(serializers.Serializer):
    period = serializers.CharField()
    vendor = serializers.CharField()
    payouts = PayoutFiguresSerializer(many=True)
    agents = AgentFiguresSerializer(many=True)
    statement_csv = serializers.CharField(help_text="path of the CSV statement")
