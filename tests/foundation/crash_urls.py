"""The project's URLs plus a few plain views that crash or refuse, to see what a 500 and a
403 outside DRF look like."""

from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from edgeplug import urls


def crash(request):
    raise RuntimeError("a bug")


def refused(request):
    raise PermissionDenied("Not for you.")


def database_lost(request):
    raise OperationalError("terminating connection due to administrator command")


class DatabaseLostInApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise OperationalError("server closed the connection unexpectedly")


urlpatterns = [
    path("api/v1/crash", crash),
    path("crash", crash),
    path("api/v1/refused", refused),
    path("api/v1/database-lost", database_lost),
    path("api/v1/database-lost-in-drf", DatabaseLostInApi.as_view()),
    *urls.urlpatterns,
]
handler400 = urls.handler400
handler403 = urls.handler403
handler404 = urls.handler404
handler500 = urls.handler500
