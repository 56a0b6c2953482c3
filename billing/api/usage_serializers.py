"""Shapes of the usage API, for the OpenAPI schema (the views build plain dicts)."""

from rest_framework import serializers

from billing import usage
from billing.usage_format import MAX_EVENTS


class UsageBatchSerializer(serializers.Serializer):
    events = serializers.ListField(child=serializers.DictField(), max_length=MAX_EVENTS)


class UsageOutcomeSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    outcome = serializers.ChoiceField(usage.OUTCOMES)
    code = serializers.CharField(required=False)


class UsageTotalsSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()


class UsageBatchResultSerializer(serializers.Serializer):
    results = UsageOutcomeSerializer(many=True)
    totals = UsageTotalsSerializer()


class SeqRangeSerializer(serializers.Serializer):
    first = serializers.IntegerField()
    last = serializers.IntegerField()


class UsageGapsSerializer(serializers.Serializer):
    device = serializers.IntegerField()
    highest_seq = serializers.IntegerField(allow_null=True)
    gaps = SeqRangeSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class UsageReportSerializer(serializers.Serializer):
    locals()["from"] = serializers.DateField()  # a Python keyword, so declared this way
    to = serializers.DateField()
    group_by = serializers.ListField(child=serializers.CharField())
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.DictField())
