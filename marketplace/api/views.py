"""The registry API: vendor keys, uploads, agents and versions, downloads."""

from functools import partial

from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from certification.pipeline.actions import (
    broker_refusal,
    check_level,
    submit_upload_for_certification,
)
from edgeplug.audit.services import record_if_denied
from edgeplug.core.renderers import JsonErrorsMixin, OctetStreamRenderer, ZipRenderer
from edgeplug.core.schema import error_response
from edgeplug.core.serializers import refuse_body, represent, validated
from edgeplug.core.throttling import DeviceThrottle
from edgeplug.errors import DomainError, NotFound
from edgeplug.tenancy.scoping import TenantScoped, get_for_request
from marketplace import catalogue, devices, downloads, services
from marketplace.api import serializers as s
from marketplace.api.commerce_serializers import NotEntitledSerializer, PricePlanSerializer
from marketplace.api.device_auth import DeviceTokenAuthentication, is_device_request
from marketplace.api.filters import AgentFilter
from marketplace.api.permissions import CanTakeBack, IsVendorPublisher, ReadToTakeBack
from marketplace.api.preconditions import if_none_match
from marketplace.catalogue_cache import cached_catalogue_response
from marketplace.errors import NotEntitled
from marketplace.models import Agent, AgentVersion, Device, DownloadKind, PricePlan, VendorKey
from marketplace.storage import open_package, package_limits
from marketplace.uploads import PackageUploadHandler, package_bytes
from marketplace.visibility import (
    agent_with_latest_version,
    agents_with_latest_version,
    held_versions,
    shown_versions,
    visible_agents,
    with_listing,
    yanked_refusal,
)


class VendorKeyListCreate(ReadToTakeBack, TenantScoped, generics.ListAPIView):
    queryset = VendorKey.objects.all()
    serializer_class = s.VendorKeySerializer

    @extend_schema(request=s.RegisterKeySerializer, responses={201: s.VendorKeySerializer})
    def post(self, request):
        data = validated(s.RegisterKeySerializer, request)
        key = services.register_key(
            request.tenant,
            data["public_key"],
            name=data["name"],
            actor=request.user,
            request=request,
        )
        return Response(s.VendorKeySerializer(key).data, status=status.HTTP_201_CREATED)


class VendorKeyRevoke(APIView):
    permission_classes = [CanTakeBack]

    @extend_schema(request=None, responses=s.VendorKeySerializer)
    def post(self, request, key_id):
        key = get_for_request(VendorKey.objects.all(), request, key_id=key_id)
        refuse_body(request)
        key = services.revoke_key(key, actor=request.user, request=request)
        return Response(s.VendorKeySerializer(key).data)


class AgentUpload(APIView):
    permission_classes = [IsVendorPublisher]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.UploadSerializer},
        responses={201: s.UploadResultSerializer, 200: s.UploadResultSerializer},
        description=(
            "Stores a signed package (201, or 200 for bytes already stored). With `certify`, "
            "a certification run is submitted too, unless these bytes were stored before and "
            "their version's certification is under way or has passed (awaiting review, or "
            "approved): then no run starts, `certification_run` names the version's latest run "
            'and `certification_not_restarted` (`{"code", "detail"}`) says why '
            "(`run_in_progress`, `awaiting_review`, `already_certified`), so sending the same "
            "upload again never takes a version off the catalogue. A version whose latest run "
            "failed or ended in error, no longer certified (expired) or rejected is submitted "
            "again. The package is kept whatever becomes of a submission, and "
            '`certification_error` (`{"code", "detail"}`) says why it did not start: when the '
            "version cannot be submitted (`version_yanked`), `certification_run` is null; when "
            "the task queue is down, `certification_run` names a run that ended at once and the "
            "code is `broker_unavailable`. Submit it again later, or certify a certified version "
            "anew, with `POST /api/v1/certification/submit`."
        ),
    )
    def post(self, request):
        request.upload_handlers = [PackageUploadHandler(request, limits=package_limits())]
        data = validated(s.UploadSerializer, request)
        check_level(data["level"])  # before the package is stored
        upload = data["package"]
        with package_bytes(upload) as package:
            result = services.upload_package(
                request.tenant,
                package,
                data["signature"],
                data["key_id"],
                blob=upload,
                actor=request.user,
                request=request,
            )
        run = refusal = not_restarted = None
        if data["certify"]:
            # The package is stored by now: a refused submission is part of the answer, as
            # on the portal's upload page, not an error that hides the upload.
            try:
                certification = submit_upload_for_certification(
                    result.version, data["level"], actor=request.user, request=request
                )
            except DomainError as exc:
                refusal = exc.as_dict()  # the body its own 409 would have had
            else:
                run, not_restarted = certification.run, certification.not_restarted
                refusal = None if not_restarted else broker_refusal(run)
        body = {
            "agent": agent_with_latest_version(request, result.version.agent_id),
            "version": result.version,
            "created": result.created,
            "certification_run": run.pk if run else None,
            "certification_error": refusal,
            "certification_not_restarted": not_restarted,
        }
        return Response(
            represent(s.UploadResultSerializer, body),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


@extend_schema_view(get=extend_schema(responses=s.AgentPageSerializer))
class AgentList(generics.ListAPIView):
    """The catalogue: anyone may browse (anonymous callers under the anonymous throttle);
    the response carries facet counts for the current filters."""

    serializer_class = s.AgentSerializer
    permission_classes = [AllowAny]
    filterset_class = AgentFilter
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self):
        return with_listing(agents_with_latest_version(self.request))

    def list(self, request, *args, **kwargs):
        return cached_catalogue_response(request, partial(self._list_with_facets, request))

    def _list_with_facets(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        response.data["facets"] = catalogue.facet_counts(queryset)
        return response


class AgentDetail(generics.RetrieveDestroyAPIView):
    serializer_class = s.AgentDetailSerializer

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    def get_queryset(self):
        return with_listing(visible_agents(self.request))

    def retrieve(self, request, *args, **kwargs):
        respond = partial(super().retrieve, request, *args, **kwargs)
        return cached_catalogue_response(request, respond)

    def destroy(self, request, *args, **kwargs):
        agent = get_for_request(Agent.objects.all(), request, pk=kwargs["pk"])
        if not IsVendorPublisher().has_permission(request, self):
            self.permission_denied(request, IsVendorPublisher.message)
        refuse_body(request)
        services.delete_agent(agent, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _version_in(versions, agent_id: int, version: str) -> AgentVersion:
    return generics.get_object_or_404(
        versions.select_related("agent", "tenant", "signing_key"),
        agent_id=agent_id,
        version=version,
    )


def _own_version(request, agent_id: int, version: str) -> AgentVersion:
    return get_for_request(
        AgentVersion.objects.select_related("agent"), request, agent_id=agent_id, version=version
    )


class VersionDetail(APIView):
    # Anyone, as the agent's page that lists the version (docs/roles.md).
    permission_classes = [AllowAny]

    @extend_schema(responses=s.AgentVersionDetailSerializer)
    def get(self, request, agent_id, version):
        return Response(
            s.AgentVersionDetailSerializer(
                _version_in(shown_versions(request), agent_id, version)
            ).data
        )


def _downloadable(request, agent_id: int, version: str) -> AgentVersion:
    """The version if this tenant may download it; 409 ``version_yanked`` when its vendor
    yanked it, 404 when the tenant cannot even see it."""
    try:
        item = _version_in(held_versions(request), agent_id, version)
    except Http404:
        if refusal := yanked_refusal(request, agent_id, version):
            raise refusal from None
        raise
    downloads.ensure_may_download(getattr(request, "tenant", None), item)
    return item


def _not_entitled(request, exc: NotEntitled, agent_id: int) -> Response:
    """The 403 with the agent's plans, audited as the exception handler audits every 403."""
    record_if_denied(request, exc)
    plans = PricePlan.objects.orderable().filter(agent_id=agent_id)
    return Response(
        {**exc.as_dict(), "plans": PricePlanSerializer(plans, many=True).data},
        status=exc.status,
    )


# A version's bytes in some form: 404 when the tenant cannot see the version, 403
# not_entitled with the agent's plans when it may not download it. (A comment, not a
# docstring: drf-spectacular would publish a docstring as the operations' description.)
class _EntitledVersionView(JsonErrorsMixin, APIView):
    permission_classes = [IsAuthenticated]
    # The one type each answers (its file renderer): another ``Accept`` is 406 not_acceptable.
    kind: str

    def get(self, request, agent_id, version):
        try:
            item = _downloadable(request, agent_id, version)
        except NotEntitled as exc:
            return _not_entitled(request, exc, agent_id)
        return self.answer(request, item)

    def answer(self, request, item: AgentVersion) -> HttpResponse:
        etag = self.etag(item)
        if etag is not None and if_none_match(request, etag):
            # The client holds these bytes: nothing is sent, so nothing is downloaded.
            not_modified = HttpResponseNotModified()
            not_modified["ETag"] = etag
            return not_modified
        response = self.respond(request, item)
        if etag is not None:
            response["ETag"] = etag
        if request.method != "HEAD":  # a HEAD reads the headers: it downloads nothing
            downloads.record_download(request.tenant, item, self.kind)
        return response

    def etag(self, item: AgentVersion) -> str | None:
        """The answer's entity tag, if its bytes have one known before they are read."""
        return None

    def respond(self, request, item: AgentVersion) -> HttpResponse:
        raise NotImplementedError


def _download_schema(media_type: str, description: str, *, revalidated: bool = False):
    responses = {
        (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=description),
        403: OpenApiResponse(
            NotEntitledSerializer, description="not_entitled, with the agent's plans"
        ),
        409: error_response(409, "version_yanked: its vendor yanked it."),
    }
    parameters = []
    if revalidated:
        responses[304] = OpenApiResponse(
            description="Not Modified: If-None-Match names the ETag; no body, no download."
        )
        parameters.append(
            OpenApiParameter(
                "If-None-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The ETag of the bytes you hold: 304 without a body if unchanged.",
            )
        )
    return extend_schema_view(get=extend_schema(responses=responses, parameters=parameters))


@_download_schema(
    "application/octet-stream",
    "the package bytes; X-EdgePlug-Digest: sha256=<hex>; ETag: its quoted SHA-256 digest",
    revalidated=True,
)
class VersionDownload(_EntitledVersionView):
    renderer_classes = [OctetStreamRenderer]
    kind = DownloadKind.PACKAGE

    def respond(self, request, item):
        response = FileResponse(
            open_package(item.storage_name),
            as_attachment=True,
            filename=f"{item.agent.name}-{item.version}.epk",
            content_type="application/octet-stream",
        )
        response["X-EdgePlug-Digest"] = f"sha256={item.digest}"
        response["X-EdgePlug-Signature"] = item.signature
        return response

    def etag(self, item):
        return f'"{item.digest}"'  # the package's SHA-256: the same bytes, the same tag


@_download_schema(
    "application/zip", "package, certificate.json, keys.json and bundle.json in one zip"
)
class VersionBundle(_EntitledVersionView):
    # Members, and devices with their token: the bundle a device's assignments name in
    # ``run`` (``devices.runnable_version``, the same rule), 404 for anything else.
    renderer_classes = [ZipRenderer]
    kind = DownloadKind.BUNDLE
    authentication_classes = [
        *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
        DeviceTokenAuthentication,
    ]

    def get_authenticate_header(self, request):
        # A refused device token is challenged with its own scheme, as at the device endpoints.
        if is_device_request(request):
            return DeviceTokenAuthentication().authenticate_header(request)
        return super().get_authenticate_header(request)

    def get_throttles(self):
        # A device's fetch draws on its own budget, as its assignments and usage reports do.
        if isinstance(self.request.auth, Device):
            return [DeviceThrottle()]
        return super().get_throttles()

    def get(self, request, agent_id, version):
        if isinstance(request.auth, Device):
            item = devices.runnable_version(request.auth, agent_id, version)
            if item is None:
                raise NotFound("This device is not told to run that version.")
            return self.answer(request, item)
        return super().get(request, agent_id, version)

    def respond(self, request, item):
        data = downloads.build_bundle(item)
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = (
            f'attachment; filename="{item.agent.name}-{item.version}.bundle.zip"'
        )
        return response


class VersionYank(APIView):
    permission_classes = [CanTakeBack]

    @extend_schema(request=s.YankSerializer, responses=s.AgentVersionSerializer)
    def post(self, request, agent_id, version):
        # Look the version up first: another tenant's version is a 404 whatever the body says.
        item = _own_version(request, agent_id, version)
        data = validated(s.YankSerializer, request)
        item = services.yank_version(
            item,
            data["reason"],
            actor=request.user,
            request=request,
        )
        return Response(s.AgentVersionSerializer(item).data)
