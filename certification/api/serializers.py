"""Shapes of the certification API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from certification.models import (
    RUN_REVIEW_FIELDS,
    RUN_STATE_FIELDS,
    RUN_TIMING_FIELDS,
    STAGE_STATES,
    CertificationResult,
    CertificationRun,
    Level,
)
from certification.vocabulary import LEVEL_HELP
from edgeplug.core.schema import AGENT_AS_NAME, AGENT_ID
from edgeplug.core.serializers import (
    ActionCheckedChoiceField,
    ReadOnlyModelSerializer,
    StrictSerializer,
)


class ResultSerializer(ReadOnlyModelSerializer):
    class Meta:
        model = CertificationResult
        fields = [
            "test_suite",
            "test_result",
            "test_duration_ms",
            "error_code",
            "metrics",
            "findings",
            "findings_summary",
            "test_logs",
            "created_at",
        ]


class StageStateSerializer(serializers.Serializer):
    """A stage of the run's level and its state (``CertificationRun.stage_state``): its
    verdict once recorded, else running, pending, or skipped when the run ended first."""

    stage = serializers.CharField()
    state = serializers.ChoiceField(choices=STAGE_STATES)


class RunSerializer(ReadOnlyModelSerializer):
    agent_id = serializers.IntegerField(
        source="version.agent_id", read_only=True, help_text=AGENT_ID
    )
    agent = serializers.CharField(
        source="version.agent.name", read_only=True, help_text=AGENT_AS_NAME
    )
    vendor = serializers.CharField(source="tenant.slug", read_only=True)
    version = serializers.CharField(source="version.version", read_only=True)
    results = ResultSerializer(many=True, read_only=True)
    certificate_url = serializers.SerializerMethodField()
    stage_states = serializers.SerializerMethodField()

    class Meta:
        model = CertificationRun
        fields = [
            "id",
            "agent_id",
            "agent",
            "vendor",
            "version",
            *RUN_STATE_FIELDS,
            "stages",
            *RUN_TIMING_FIELDS,
            *RUN_REVIEW_FIELDS,
            "results",
            "stage_states",
            "certificate_url",
        ]

    def get_certificate_url(self, obj) -> str | None:
        """The certificate this run issued (not the version's current one, which may be
        another run's)."""
        if not hasattr(obj, "certificate"):
            return None
        return f"/api/v1/certification/{obj.pk}/certificate"

    @extend_schema_field(StageStateSerializer(many=True))
    def get_stage_states(self, obj) -> list[dict]:
        """Each stage of the run's level in order, as the portal's steps show it."""
        return [{"stage": stage, "state": state} for stage, state in obj.stage_states()]


class RunSummarySerializer(RunSerializer):
    """A run in a list: without its results, so without the stage states read from them."""

    class Meta(RunSerializer.Meta):
        fields = [f for f in RunSerializer.Meta.fields if f not in ("results", "stage_states")]


class QueuedRunSerializer(serializers.Serializer):
    """The 202 of a submission: the run queued, and where to follow it."""

    run_id = serializers.IntegerField(source="pk")
    status = serializers.CharField()
    level = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, run) -> str:
        return f"/api/v1/certification/{run.pk}"


class CertificateDocumentSerializer(serializers.Serializer):
    """A signed certificate as issued (docs/certificates.md): verify it offline with the
    published keys, /.well-known/edgeplug/keys.json."""

    certificate = serializers.DictField(help_text="the signed payload")
    signature = serializers.CharField(
        help_text="Ed25519 over the RFC 8785 canonical JSON of certificate, base64"
    )
    key_id = serializers.CharField(help_text="the platform key that signed it")


class SubmitSerializer(StrictSerializer):
    version_id = serializers.IntegerField(required=False)
    agent_id = serializers.IntegerField(required=False)
    version = serializers.CharField(max_length=128, required=False)
    level = ActionCheckedChoiceField(
        choices=Level.choices,
        default=Level.BASIC,
        help_text=LEVEL_HELP,
    )
    # Either group names the version; the OpenAPI schema publishes the same rule (anyOf).
    required_any_of = (("version_id",), ("agent_id", "version"))

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not any(all(name in attrs for name in group) for group in self.required_any_of):
            raise serializers.ValidationError(
                "Give version_id, or agent_id and version.", code="version_required"
            )
        return attrs
