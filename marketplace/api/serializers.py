"""Shapes of the registry API."""

from dataclasses import asdict

from django.core.validators import RegexValidator
from rest_framework import serializers

from certification.models import Level
from certification.pipeline.actions import NotRestarted
from certification.vocabulary import LEVEL_HELP
from edgeplug.core.pagination import page_serializer
from edgeplug.core.schema import ErrorSerializer
from edgeplug.core.serializers import (
    ActionCheckedCharField,
    ActionCheckedChoiceField,
    ActionRequiredCharField,
    IsSetField,
    ReadOnlyModelSerializer,
    StrictSerializer,
)
from edgeplug.text import DOCUMENT_TEXT_PATTERN, NONBLANK_DOCUMENT_TEXT_PATTERN
from marketplace.api.commerce_serializers import PricePlanSerializer
from marketplace.catalogue import FACETS, rating_summary, summarize_certificate
from marketplace.certified import current_certificate, current_certificates
from marketplace.models import (
    Agent,
    AgentVersion,
    PricePlan,
    VendorKey,
)
from marketplace.visibility import page_versions

LEVELS = Level.choices


class VendorKeySerializer(ReadOnlyModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = VendorKey
        fields = ["key_id", "name", "public_key", "active", "created_at", "revoked_at"]


class RegisterKeySerializer(StrictSerializer):
    """The key's text and its name are checked by ``register_key`` (``public_key_required``
    when missing or blank, ``private_key_given`` for keygen's key file, ``malformed_key``,
    ``key_name_too_long``, ``invalid_key_name``), as the portal's."""

    public_key = ActionRequiredCharField(max_length=64, help_text="base64 of the raw 32-byte key")
    # Published with the names' pattern (no control or bidirectional character); only
    # invisible characters, which it cannot say, are register_key's too (invalid_key_name).
    name = ActionCheckedCharField(
        max_length=VendorKey._meta.get_field("name").max_length,
        required=False,
        default="",
        validators=[RegexValidator(DOCUMENT_TEXT_PATTERN)],
    )


class UploadSerializer(StrictSerializer):
    package = serializers.FileField(help_text="the .epk archive", allow_empty_file=True)
    # Checked by upload_package (malformed_signature), as the portal's .sig file is.
    signature = ActionCheckedCharField(
        max_length=128, help_text="base64 Ed25519 signature over sha256(package)"
    )
    # Checked by upload_package (unknown_key, key_revoked), as the portal's key is.
    key_id = ActionCheckedCharField(max_length=80)
    certify = serializers.BooleanField(required=False, default=False)
    level = ActionCheckedChoiceField(
        choices=LEVELS, required=False, default=Level.BASIC, help_text=LEVEL_HELP
    )


class AgentVersionSerializer(ReadOnlyModelSerializer):
    key_id = serializers.CharField(source="signing_key.key_id", read_only=True)
    yanked = IsSetField(source="yanked_at")
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

    def get_download_url(self, obj) -> str | None:
        """None for a yanked version: it is shown, marked, and never offered for download."""
        if obj.yanked_at is not None:
            return None
        return f"/api/v1/agents/{obj.agent_id}/versions/{obj.version}/download"


class AgentVersionDetailSerializer(AgentVersionSerializer):
    class Meta(AgentVersionSerializer.Meta):
        fields = [*AgentVersionSerializer.Meta.fields, "manifest"]


class ListingSerializer(serializers.Serializer):
    """What the catalogue shows in a list row, from the agent's listing (no extra query)."""

    version = serializers.CharField(source="version.version")
    level = serializers.CharField()
    core = serializers.CharField()
    license = serializers.CharField()
    certificate_id = serializers.IntegerField(allow_null=True)
    latency_median_us = serializers.IntegerField(allow_null=True)
    latency_worst_us = serializers.IntegerField(allow_null=True)
    model_bytes = serializers.IntegerField(allow_null=True)
    arena_bytes = serializers.IntegerField(allow_null=True)
    price_models = serializers.ListField(child=serializers.CharField())
    rating_average = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)
    rating_count = serializers.IntegerField()
    active_entitlements = serializers.IntegerField()


class LatestVersionSerializer(AgentVersionSerializer):
    """The first of the agent's ``visible_versions`` (prefetched newest first), or null."""

    def get_attribute(self, instance):
        versions = instance.visible_versions
        return versions[0] if versions else None


# Agents come from marketplace.visibility (agents_with_latest_version / visible_agents), which
# prefetches ``visible_versions`` newest first. The nested serializers are fields, built once
# per response, never one serializer per agent.
class AgentSerializer(ReadOnlyModelSerializer):
    vendor = serializers.CharField(source="tenant.slug", read_only=True)
    vendor_name = serializers.CharField(source="tenant.name", read_only=True)
    latest_version = LatestVersionSerializer(read_only=True, allow_null=True)
    listing = ListingSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Agent
        fields = [
            "id",
            "name",
            "vendor",
            "vendor_name",
            "agent_type",
            "description",
            "created_at",
            "updated_at",
            "latest_version",
            "listing",
        ]


class CatalogueVersionSerializer(AgentVersionSerializer):
    """A version on the agent page, with the summary of the certificate vouching for it."""

    certificate = serializers.SerializerMethodField()

    class Meta(AgentVersionSerializer.Meta):
        fields = [*AgentVersionSerializer.Meta.fields, "certificate"]

    def get_certificate(self, obj) -> dict | None:
        known = self.context.get("certificates")
        certificate = known.get(obj.pk) if known is not None else current_certificate(obj)
        return asdict(summarize_certificate(certificate)) if certificate else None


class AgentDetailSerializer(AgentSerializer):
    versions = serializers.SerializerMethodField()
    plans = serializers.SerializerMethodField()
    rating = serializers.SerializerMethodField()

    class Meta(AgentSerializer.Meta):
        fields = [*AgentSerializer.Meta.fields, "versions", "plans", "rating"]

    def get_versions(self, obj) -> list[dict]:
        versions = page_versions(obj)
        context = {**self.context, "certificates": current_certificates(versions)}
        return CatalogueVersionSerializer(versions, many=True, context=context).data

    def get_plans(self, obj) -> list[dict]:
        return PricePlanSerializer(PricePlan.objects.orderable().filter(agent=obj), many=True).data

    def get_rating(self, obj) -> dict:
        return asdict(rating_summary(obj))


class CertificationNotRestartedSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[code.value for code in NotRestarted])
    detail = serializers.CharField()


class UploadResultSerializer(serializers.Serializer):
    agent = AgentSerializer()
    version = AgentVersionDetailSerializer()
    created = serializers.BooleanField()
    certification_run = serializers.IntegerField(allow_null=True)
    certification_error = ErrorSerializer(
        allow_null=True,
        help_text="set when certification did not start: the submission was refused "
        "(version_yanked; certification_run is null) or the run could not be queued "
        "(broker_unavailable)",
    )
    certification_not_restarted = CertificationNotRestartedSerializer(
        allow_null=True,
        help_text="set when these bytes' version keeps its certification (under way, awaiting "
        "review, or approved) and no new run started: certification_run is that version's "
        "latest run",
    )


class ReasonField(ActionRequiredCharField):
    """A decision's reason in a request body. The schema says what the action requires (1 to
    ``max_length`` characters, required, no control or bidirectional character but line breaks
    and tabs); the action checks it (``edgeplug.reasons``: ``reason_required`` when missing or
    blank, ``reason_too_long``, ``invalid_reason``), as the portal and the admin answer, so
    the serializer enforces none of it: a missing reason reaches it as a blank one."""

    def __init__(self, max_length: int):
        super().__init__(
            min_length=1,
            max_length=max_length,
            validators=[RegexValidator(NONBLANK_DOCUMENT_TEXT_PATTERN)],
        )


class YankSerializer(StrictSerializer):
    reason = ReasonField(AgentVersion._meta.get_field("yank_reason").max_length)


class CertifyRequestSerializer(StrictSerializer):
    version = serializers.CharField(max_length=128, required=False)
    level = ActionCheckedChoiceField(choices=LEVELS, default=Level.BASIC, help_text=LEVEL_HELP)


# Per facet of the catalogue, how many agents of the current filters hold each value.
CatalogueFacetsSerializer = type(
    "CatalogueFacetsSerializer",
    (serializers.Serializer,),
    {
        facet: serializers.DictField(child=serializers.IntegerField())
        for facet in (*FACETS, "price_model")
    },
)
AgentPageSerializer = page_serializer(
    "PaginatedAgentWithFacetsList", AgentSerializer, facets=CatalogueFacetsSerializer()
)
