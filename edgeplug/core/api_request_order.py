"""The order in which every API view (DRF's ``APIView.initial``, so every operation of ours
and of the libraries: simplejwt, drf-spectacular) checks a request: its throttles before its
permissions, and a request whose credentials were refused counted against its address's
budget. DRF checks permissions first, so a refusal (403, 401) spent no budget: a member
refused for their role wrote a ``permission_denied`` audit row per request without limit, and
a revoked device's token was looked up on every request of its fleet. Installed once, by the
core app (``install``)."""

from rest_framework import exceptions
from rest_framework.views import APIView

from edgeplug.core.throttling import refused_credentials_wait

# What authenticating a request raises when the credentials it sent are refused (a
# session's CSRF failure is a PermissionDenied).
_REFUSED_CREDENTIALS = (
    exceptions.AuthenticationFailed,
    exceptions.NotAuthenticated,
    exceptions.PermissionDenied,
)


# DRF's own, as read before ``install``: a test compares its text with the one ``_initial``
# copies, so that a DRF upgrade changing it is noticed.
DRF_INITIAL = APIView.initial


def _initial(self: APIView, request, *args, **kwargs) -> None:
    """DRF's ``APIView.initial`` (3.18), the throttles moved before the permissions."""
    self.format_kwarg = self.get_format_suffix(**kwargs)
    request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(
        request
    )
    request.version, request.versioning_scheme = self.determine_version(request, *args, **kwargs)
    try:
        self.perform_authentication(request)
    except _REFUSED_CREDENTIALS:
        if (wait := refused_credentials_wait(request)) is not None:
            raise exceptions.Throttled(wait) from None
        raise
    self.check_throttles(request)
    self.check_permissions(request)


def install() -> None:
    APIView.initial = _initial
