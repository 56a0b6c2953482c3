from django.urls import path
from rest_framework.routers import SimpleRouter

from edgeplug.tenancy import views

router = SimpleRouter(trailing_slash=False)
router.register("tenant/members", views.MembershipViewSet, basename="tenant-members")

urlpatterns = [
    path("tenant/audit-events", views.AuditEventList.as_view(), name="tenant-audit-events"),
    *router.urls,
]
