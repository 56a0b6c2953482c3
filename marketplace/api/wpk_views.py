"""The WPK API: upload, list, review."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from edgeplug.core.pagination import DefaultPagination
from edgeplug.core.serializers import (
    ActionCheckedCharField,
    ActionCheckedSlugField,
    ReadOnlyModelSerializer,
    StrictSerializer,
    validated,
)
from edgeplug.tenancy.models import StaffGroup
from edgeplug.tenancy.permissions import InStaffGroup
from edgeplug.tenancy.scoping import for_request
from marketplace import wpk as wpk_service
from marketplace.api.permissions import IsVendorPublisher
from marketplace.api.serializers import ReasonField
from marketplace.models import WorkflowPackage


class WpkSerializer(ReadOnlyModelSerializer):
    """A workflow package. It names no reviewer, as a run names none: staff identities are
    not told to tenants, and every tenant lists the approved packages."""

    vendor = serializers.CharField(source="tenant.slug", read_only=True)
    key_id = serializers.CharField(
        source="signing_key.key_id", read_only=True, help_text="the vendor's key that signed it"
    )

    class Meta:
        model = WorkflowPackage
        fields = [
            "id",
            "name",
            "version",
            "vendor",
            "status",
            "created_at",
            "digest",
            "key_id",
            "content",
            "signature",
            "reviewed_at",
            "review_reason",
        ]


class WpkUploadSerializer(StrictSerializer):
    """An upload's body. ``reject_malformed_document`` refuses a missing or unknown field and a
    ``content`` that is not an object, and ``upload_wpk`` checks the text fields for every door
    (422 ``wpk_invalid``, ``invalid_version``, ``malformed_signature``, ``unknown_key``); the
    limits are stated here too, read from the same columns, for the schema only."""

    name = ActionCheckedSlugField(max_length=wpk_service.column_length("name"))
    version = ActionCheckedCharField(max_length=wpk_service.column_length("version"))
    content = serializers.DictField()
    signature = ActionCheckedCharField(max_length=wpk_service.column_length("signature"))
    key_id = ActionCheckedCharField(max_length=80)


class WpkReviewSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    reason = ReasonField(WorkflowPackage._meta.get_field("review_reason").max_length)


class WpkPagination(DefaultPagination):
    """The seed API's list shape: {"wpks": [...], "count": N}, plus next/previous links."""

    def get_paginated_response(self, data):
        return Response(
            {
                "wpks": data,
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "properties": {
                "wpks": schema,
                "count": {"type": "integer"},
                "next": {"type": "string", "nullable": True},
                "previous": {"type": "string", "nullable": True},
            },
        }


class WpkUpload(APIView):
    permission_classes = [IsVendorPublisher]

    @extend_schema(request=WpkUploadSerializer, responses={201: WpkSerializer, 200: WpkSerializer})
    def post(self, request):
        # A missing or unknown field, or content that is not an object, is the action's refusal
        # (422 wpk_invalid), as the portal answers it: not the serializer's 400 required,
        # unknown_field or not_a_dict.
        wpk_service.reject_malformed_document(request.data)
        v = validated(WpkUploadSerializer, request)
        result = wpk_service.upload_wpk(
            request.tenant,
            name=v["name"],
            version=v["version"],
            content=v["content"],
            signature_b64=v["signature"],
            key_id=v["key_id"],
            actor=request.user,
            request=request,
        )
        return Response(
            WpkSerializer(result.wpk).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class WpkList(generics.ListAPIView):
    """Reviewers see every WPK; a tenant sees its own and the approved ones."""

    serializer_class = WpkSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = WpkPagination
    filterset_fields = ["status", "name"]

    def get_queryset(self):
        queryset = WorkflowPackage.objects.select_related("tenant", "signing_key")
        return for_request(queryset, self.request, public=True, staff=StaffGroup.REVIEWERS)


class WpkReview(APIView):
    permission_classes = [InStaffGroup.of(StaffGroup.REVIEWERS)]

    @extend_schema(request=WpkReviewSerializer, responses=WpkSerializer)
    def post(self, request, pk):
        data = validated(WpkReviewSerializer, request)
        item = generics.get_object_or_404(WorkflowPackage.objects.all(), pk=pk)
        item = wpk_service.review_wpk(
            item,
            approve=data["decision"] == "approve",
            reason=data["reason"],
            reviewer=request.user,
            request=request,
        )
        return Response(WpkSerializer(item).data)
