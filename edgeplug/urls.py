"""Top-level URLs: admin (OTP required), API v1, schema and docs, operations endpoints."""

from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from certification.api.views import published_keys
from edgeplug.accounts.forms import AdminLoginForm
from edgeplug.health import views as health

# Every staff user must present a verified TOTP code to use the admin.
admin.site.__class__ = OTPAdminSite
admin.site.login_form = AdminLoginForm
admin.site.site_header = "EdgePlug administration"
admin.site.site_title = "EdgePlug admin"

api_v1 = [
    path("", include("edgeplug.accounts.urls")),
    path("", include("edgeplug.tenancy.urls")),
    path("", include("marketplace.urls")),
    path("", include("certification.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path(".well-known/edgeplug/keys.json", published_keys, name="published-keys"),
    path("", include("django_prometheus.urls")),
]

handler400 = "edgeplug.core.error_views.bad_request"
handler403 = "edgeplug.core.error_views.permission_denied"
handler404 = "edgeplug.core.error_views.page_not_found"
handler500 = "edgeplug.core.error_views.server_error"
