"""Top-level URLs: landing page, admin (OTP required), vendor portal, API v1 with schema and
docs, ops."""

from django.contrib import admin
from django.urls import include, path

from edgeplug.accounts.admin_site import EdgePlugAdminSite
from edgeplug.core.schema_views import SchemaView, SwaggerUiView
from edgeplug.core.views import favicon, landing
from edgeplug.health import views as health

# Every staff user must present a verified TOTP code to use the admin.
admin.site.__class__ = EdgePlugAdminSite

api_v1 = [
    path("", include("edgeplug.accounts.urls")),
    path("", include("edgeplug.tenancy.urls")),
    path("", include("marketplace.urls")),
    path("", include("certification.urls")),
    path("", include("billing.urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SwaggerUiView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("", landing, name="landing"),
    # Browsers ask every site for /favicon.ico, admin and API docs pages included.
    path("favicon.ico", favicon, name="favicon"),
    # Finance pages (exports, payouts, charts) inside the admin, before its catch-all routes.
    path("admin/billing/finance/", include("billing.finance_admin_urls")),
    path("admin/", admin.site.urls),
    path("portal/", include("marketplace.portal.urls")),
    path("api/v1/", include(api_v1)),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path(".well-known/edgeplug/", include("certification.wellknown_urls")),
    path("metrics", health.metrics, name="prometheus-django-metrics"),
]

handler400 = "edgeplug.core.error_views.bad_request"
handler403 = "edgeplug.core.error_views.permission_denied"
handler404 = "edgeplug.core.error_views.page_not_found"
handler500 = "edgeplug.core.error_views.server_error"
