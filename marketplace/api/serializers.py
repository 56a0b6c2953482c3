"""Shapes of the registry API."""

from rest_framework import serializers

from certification.models import Level
from edgeplug.core.serializers import StrictSerializer
from marketplace.models import Agent, AgentVersion, VendorKey

LEVELS = Level.choices


class VendorKeySerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = VendorKey
        fields = ["key_id", "name", "public_key", "active", "created_at", "revoked_at"]
        read_only_fields = fields


class RegisterKeySerializer(StrictSerializer):
    public_key = serializers.CharField(max_length=64, help_text="base64 of the raw 32-byte key")
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class UploadSerializer(StrictSerializer):
    package = serializers.FileField(help_text="the .epk archive", allow_empty_file=True)
    signature = serializers.CharField(
        max_length=128, help_text="base64 Ed25519 signature over sha256(package)"
    )
    key_id = serializers.CharField(max_length=80)
    certify = serializers.BooleanField(required=False, default=False)
    level = serializers.ChoiceField(choices=LEVELS, required=False, default=Level.BASIC)


class AgentVersionSerializer(serializers.ModelSerializer):
    key_id = serializers.CharField(source="signing_key.key_id", read_only=True)
    yanked = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = AgentVersion
        fields = [
            "id",
            "version",
            "digest",
            "size",
            "manifest_digest",
            "target_core",
            "certification_status",
            "review_status",
            "yanked",
            "yank_reason",
            "created_at",
            "certified_at",
            "key_id",
            "signature",
            "download_url",
        ]
        read_only_fields = fields

    def get_yanked(self, obj) -> bool:
        return obj.yanked_at is not None

    def get_download_url(self, obj) -> str:
        return f"/api/v1/agents/{obj.agent_id}/versions/{obj.version}/download"


class AgentVersionDetailSerializer(AgentVersionSerializer):
    class Meta(AgentVersionSerializer.Meta):
        fields = [*AgentVersionSerializer.Meta.fields, "manifest"]
        read_only_fields = fields


class LatestVersionSerializer(AgentVersionSerializer):
    """The first of the agent's ``visible_versions`` (prefetched newest first), or null."""

    def get_attribute(self, instance):
        versions = instance.visible_versions
        return versions[0] if versions else None


# Agents come from marketplace.visibility (agents_with_latest_version / agents_with_versions),
# which prefetches ``visible_versions``. The nested serializers are fields, built once per
# response, never one serializer per agent.
class AgentSerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(source="tenant.slug", read_only=True)
    latest_version = LatestVersionSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Agent
        fields = [
            "id",
            "name",
            "vendor",
            "agent_type",
            "description",
            "created_at",
            "updated_at",
            "latest_version",
        ]
        read_only_fields = fields


class AgentDetailSerializer(AgentSerializer):
    versions = AgentVersionSerializer(source="visible_versions", many=True, read_only=True)

    class Meta(AgentSerializer.Meta):
        fields = [*AgentSerializer.Meta.fields, "versions"]
        read_only_fields = fields


class UploadResultSerializer(serializers.Serializer):
    agent = AgentSerializer()
    version = AgentVersionDetailSerializer()
    created = serializers.BooleanField()
    certification_run = serializers.IntegerField(allow_null=True)


class YankSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class CertifyRequestSerializer(StrictSerializer):
    version = serializers.CharField(max_length=128, required=False)
    level = serializers.ChoiceField(choices=LEVELS, default=Level.BASIC)
