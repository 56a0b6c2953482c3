"""Devices authenticate with their token: ``Authorization: Device <token>``."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from edgeplug.core.exceptions import (
    DEVICE_CREDENTIALS_DETAIL,
    device_header,
    device_token,
)
from marketplace.devices import UNKNOWN_DEVICE_MESSAGE, device_for_token, touch
from marketplace.models import Device


class DevicePrincipal:
    """request.user for a device: authenticated, no staff powers, no tenant role."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, device: Device):
        self.device = device
        self.pk = f"device-{device.pk}"

    def __str__(self) -> str:
        return f"device {self.device.token_prefix}"


def is_device_request(request) -> bool:
    """The request sends ``Authorization: Device …`` (whether or not the token is good)."""
    return device_header(request) is not None


class DeviceTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = device_header(request)
        if header is None:
            return None
        token = device_token(header)
        if token is None:
            raise exceptions.NotAuthenticated(DEVICE_CREDENTIALS_DETAIL)
        device = device_for_token(token)
        if device is None:
            raise exceptions.AuthenticationFailed(UNKNOWN_DEVICE_MESSAGE)
        touch(device)
        for target in (request, getattr(request, "_request", None)):
            if target is not None:
                target.tenant = device.tenant
                target.role = None
        return DevicePrincipal(device), device

    def authenticate_header(self, request) -> str:
        return "Device"


class IsDevice(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Device)


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = DeviceTokenAuthentication
    name = "deviceToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Device <token>, as returned once by POST /api/v1/devices",
        }
