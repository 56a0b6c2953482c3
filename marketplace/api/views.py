"""The registry API: vendor keys, uploads, agents and versions, downloads."""

from functools import partial

from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from edgeplug.core.errors import DomainError
from edgeplug.tenancy.scoping import for_request, get_for_request
from marketplace import services
from marketplace.api import serializers as s
from marketplace.api.filters import AgentFilter
from marketplace.api.permissions import IsVendorPublisher
from marketplace.catalogue_cache import cached_catalogue_response
from marketplace.models import AgentVersion, VendorKey
from marketplace.storage import open_package
from marketplace.visibility import (
    agents_with_latest_version,
    agents_with_versions,
    visible_versions,
    with_latest_version,
)


class VendorKeyListCreate(generics.ListAPIView):
    serializer_class = s.VendorKeySerializer
    permission_classes = [IsVendorPublisher]

    def get_queryset(self):
        return for_request(VendorKey.objects.all(), self.request)

    @extend_schema(request=s.RegisterKeySerializer, responses={201: s.VendorKeySerializer})
    def post(self, request):
        data = s.RegisterKeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.register_key(
            request.tenant,
            data.validated_data["public_key"],
            name=data.validated_data["name"],
            actor=request.user,
            request=request,
        )
        return Response(s.VendorKeySerializer(key).data, status=status.HTTP_201_CREATED)


class VendorKeyRevoke(APIView):
    permission_classes = [IsVendorPublisher]

    @extend_schema(request=None, responses=s.VendorKeySerializer)
    def post(self, request, key_id):
        key = get_for_request(VendorKey.objects.all(), request, key_id=key_id)
        key = services.revoke_key(key, actor=request.user, request=request)
        return Response(s.VendorKeySerializer(key).data)


class UploadTooLarge(DomainError):
    code = "package_too_large"
    status = 413


class AgentUpload(APIView):
    permission_classes = [IsVendorPublisher]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.UploadSerializer},
        responses={201: s.UploadResultSerializer, 200: s.UploadResultSerializer},
    )
    def post(self, request):
        data = s.UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["package"]
        limit = services.package_limits().max_package_bytes
        if upload.size > limit:
            raise UploadTooLarge(f"Packages are limited to {limit} bytes; this is {upload.size}.")
        result = services.upload_package(
            request.tenant,
            upload.read(),
            data.validated_data["signature"],
            data.validated_data["key_id"],
            actor=request.user,
            request=request,
        )
        run = None
        if data.validated_data["certify"]:
            from certification.services import submit_for_certification

            run = submit_for_certification(
                result.version, data.validated_data["level"], actor=request.user, request=request
            )
        body = {
            # The agent with its newest version only: the response costs the same however
            # many versions the agent has.
            "agent": with_latest_version(request, result.version.agent),
            "version": result.version,
            "created": result.created,
            "certification_run": run.pk if run else None,
        }
        return Response(
            s.UploadResultSerializer(body).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class AgentList(generics.ListAPIView):
    serializer_class = s.AgentSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = AgentFilter
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self):
        return agents_with_latest_version(self.request)

    def list(self, request, *args, **kwargs):
        return cached_catalogue_response(request, partial(super().list, request, *args, **kwargs))


class AgentDetail(generics.RetrieveDestroyAPIView):
    serializer_class = s.AgentDetailSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return agents_with_versions(self.request)

    def retrieve(self, request, *args, **kwargs):
        respond = partial(super().retrieve, request, *args, **kwargs)
        return cached_catalogue_response(request, respond)

    def destroy(self, request, *args, **kwargs):
        agent = self.get_object()
        if agent.tenant_id != getattr(getattr(request, "tenant", None), "pk", None):
            raise Http404
        if not IsVendorPublisher().has_permission(request, self):
            self.permission_denied(request, IsVendorPublisher.message)
        services.delete_agent(agent, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _version_for_request(request, agent_id: int, version: str) -> AgentVersion:
    return generics.get_object_or_404(
        visible_versions(request).select_related("agent", "tenant", "signing_key"),
        agent_id=agent_id,
        version=version,
    )


def _own_version(request, agent_id: int, version: str) -> AgentVersion:
    return get_for_request(
        AgentVersion.objects.select_related("agent"), request, agent_id=agent_id, version=version
    )


class VersionDetail(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.AgentVersionDetailSerializer)
    def get(self, request, agent_id, version):
        return Response(
            s.AgentVersionDetailSerializer(_version_for_request(request, agent_id, version)).data
        )


class VersionDownload(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                description="the package bytes; X-EdgePlug-Digest: sha256=<hex>"
            )
        }
    )
    def get(self, request, agent_id, version):
        # Entitled today: the vendor who published it (purchases extend this later).
        item = _own_version(request, agent_id, version)
        response = FileResponse(
            open_package(item.storage_name),
            as_attachment=True,
            filename=f"{item.agent.name}-{item.version}.epk",
            content_type="application/octet-stream",
        )
        response["X-EdgePlug-Digest"] = f"sha256={item.digest}"
        response["X-EdgePlug-Signature"] = item.signature
        response["ETag"] = f'"{item.digest}"'
        return response


class VersionYank(APIView):
    permission_classes = [IsVendorPublisher]

    @extend_schema(request=s.YankSerializer, responses=s.AgentVersionSerializer)
    def post(self, request, agent_id, version):
        data = s.YankSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.yank_version(
            _own_version(request, agent_id, version),
            data.validated_data["reason"],
            actor=request.user,
            request=request,
        )
        return Response(s.AgentVersionSerializer(item).data)
