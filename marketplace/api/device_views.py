"""Devices and deployments (tenant admins and operators), and the device's own view."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from edgeplug.core.filters import BooleanFilter, FilterSet
from edgeplug.core.schema import empty_for_schema, error_response
from edgeplug.core.serializers import refuse_body, validated
from edgeplug.core.throttling import DeviceThrottle
from edgeplug.tenancy.permissions import CanManageDevices
from edgeplug.tenancy.scoping import TenantScoped, get_for_request
from marketplace import devices
from marketplace.api import commerce_serializers as s
from marketplace.api.device_auth import DeviceTokenAuthentication, IsDevice
from marketplace.errors import UnknownVersion
from marketplace.models import Deployment, Device
from marketplace.visibility import (
    held_or_visible_agents,
    referenced_version,
    visible_versions,
    yanked_refusal,
)


def _device(request, pk) -> Device:
    return get_for_request(Device.objects.select_related("tenant"), request, pk=pk)


def _acted_on(request, pk) -> Device:
    """The device an operation that takes no body acts on (``refuse_body``, once found)."""
    device = _device(request, pk)
    refuse_body(request)
    return device


# Every view here but the device's own is for the tenant's admins and operators. Comments, not
# docstrings, on these bases: the OpenAPI schema would print a docstring as the description of
# every view.
class DeviceManagement(APIView):
    permission_classes = [CanManageDevices]


# The devices of the caller's tenant, for a DRF generic view (put it first).
class TenantDevices(TenantScoped, DeviceManagement):
    queryset = Device.objects.all()
    serializer_class = s.DeviceSerializer


class DeviceFilter(FilterSet):
    active = BooleanFilter(field_name="revoked_at", lookup_expr="isnull", label="not revoked")

    class Meta:
        model = Device
        fields = ["active"]


class DeviceListCreate(TenantDevices, generics.ListAPIView):
    filterset_class = DeviceFilter

    @extend_schema(request=s.RegisterDeviceSerializer, responses={201: s.IssuedTokenSerializer})
    def post(self, request):
        data = validated(s.RegisterDeviceSerializer, request)
        issued = devices.register_device(
            request.tenant, actor=request.user, request=request, **data
        )
        return Response(s.IssuedTokenSerializer(issued).data, status=status.HTTP_201_CREATED)


class DeviceDetail(TenantDevices, generics.RetrieveAPIView): ...


class DeviceRotateToken(DeviceManagement):
    @extend_schema(request=None, responses=s.IssuedTokenSerializer)
    def post(self, request, pk):
        issued = devices.rotate_token(_acted_on(request, pk), actor=request.user, request=request)
        return Response(s.IssuedTokenSerializer(issued).data)


class DeviceRevoke(DeviceManagement):
    @extend_schema(request=None, responses=s.DeviceSerializer)
    def post(self, request, pk):
        device = devices.revoke_device(_acted_on(request, pk), actor=request.user, request=request)
        return Response(s.DeviceSerializer(device).data)


class DeploymentListCreate(DeviceManagement, generics.ListAPIView):
    serializer_class = s.DeploymentSerializer

    @empty_for_schema
    def get_queryset(self):
        device = _device(self.request, self.kwargs["pk"])
        return device.deployments.select_related("agent", "version")

    @extend_schema(
        request=s.CreateDeploymentSerializer,
        responses={
            201: s.DeploymentSerializer,
            200: OpenApiResponse(
                s.DeploymentSerializer,
                description="the agent was deployed there already: its version is now this one",
            ),
            400: error_response(
                400,
                "unknown_agent or unknown_version: the body names no agent, or no version of "
                "it, that you can deploy (absent and another tenant's alike); not_available.",
            ),
            409: error_response(
                409, "version_yanked: its vendor yanked it; seat_limit_reached: no seat free."
            ),
        },
    )
    def post(self, request, pk):
        device = _device(request, pk)
        data = validated(s.CreateDeploymentSerializer, request)
        try:
            version = referenced_version(
                visible_versions(request),
                held_or_visible_agents(request),
                data["agent"],
                data["version"],
            )
        except UnknownVersion:
            if refusal := yanked_refusal(request, data["agent"], data["version"]):
                raise refusal from None
            raise
        deployment, created = devices.deploy(device, version, actor=request.user, request=request)
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.DeploymentSerializer(deployment).data, status=answer)


class DeploymentDetail(DeviceManagement):
    @extend_schema(responses={204: None})
    def delete(self, request, pk, deployment_id):
        deployment = get_for_request(  # the action reads it again, under its device's lock
            Deployment.objects.all(),
            request,
            device_id=pk,
            pk=deployment_id,
        )
        refuse_body(request)
        devices.remove_deployment(deployment, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceAssignments(APIView):
    """What this device must run, and what it must stop (device token only)."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    # A budget per device, as its usage reports have: a fleet polling does not spend its
    # tenant's (before: 50 devices polling each second locked the tenant's people out).
    throttle_classes = [DeviceThrottle]

    @extend_schema(responses=s.AssignmentsSerializer)
    def get(self, request):
        return Response(s.AssignmentsSerializer(devices.assignments_for(request.auth)).data)
