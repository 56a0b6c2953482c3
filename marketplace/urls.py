from django.urls import include, path

from marketplace.api import (
    device_views,
    order_views,
    plan_views,
    review_views,
    schema_views,
    views,
    wpk_views,
)

# Routes below one object, mounted under its URL (with the trailing slash) in urlpatterns.
plan_urls = [
    path("<int:plan_id>", plan_views.PlanDetail.as_view(), name="vendor-agent-plan"),
    path("<int:plan_id>/retire", plan_views.PlanRetire.as_view(), name="vendor-agent-plan-retire"),
]
device_urls = [
    path("rotate-token", device_views.DeviceRotateToken.as_view(), name="device-rotate-token"),
    path("revoke", device_views.DeviceRevoke.as_view(), name="device-revoke"),
    path("deployments", device_views.DeploymentListCreate.as_view(), name="device-deployments"),
    path(
        "deployments/<int:deployment_id>",
        device_views.DeploymentDetail.as_view(),
        name="device-deployment",
    ),
]
entitlement_urls = [
    path("cancel", order_views.EntitlementCancel.as_view(), name="entitlement-cancel"),
    path("resume", order_views.EntitlementResume.as_view(), name="entitlement-resume"),
]
version_urls = [
    path("download", views.VersionDownload.as_view(), name="agent-version-download"),
    path("bundle", views.VersionBundle.as_view(), name="agent-version-bundle"),
    path("yank", views.VersionYank.as_view(), name="agent-version-yank"),
]
agent_urls = [
    path("reviews", review_views.ReviewListCreate.as_view(), name="agent-reviews"),
    path(
        "reviews/<int:review_id>/reply",
        review_views.ReviewReply.as_view(),
        name="agent-review-reply",
    ),
    path("versions/<str:version>", views.VersionDetail.as_view(), name="agent-version"),
    path("versions/<str:version>/", include(version_urls)),
]

# The published schemas of the package format.
schema_urls = [
    path("manifest.json", schema_views.ManifestSchema.as_view(), name="manifest-schema"),
]

urlpatterns = [
    path("schemas/", include(schema_urls)),
    path("wpk/upload", wpk_views.WpkUpload.as_view(), name="wpk-upload"),
    path("wpk/list", wpk_views.WpkList.as_view(), name="wpk-list"),
    path("wpk/review/<int:pk>", wpk_views.WpkReview.as_view(), name="wpk-review"),
    path("vendor/keys", views.VendorKeyListCreate.as_view(), name="vendor-keys"),
    path(
        "vendor/keys/<str:key_id>/revoke", views.VendorKeyRevoke.as_view(), name="vendor-key-revoke"
    ),
    path(
        "vendor/agents/<int:agent_id>/plans",
        plan_views.PlanListCreate.as_view(),
        name="vendor-agent-plans",
    ),
    path("vendor/agents/<int:agent_id>/plans/", include(plan_urls)),
    path("orders", order_views.OrderListCreate.as_view(), name="orders"),
    path("orders/<int:pk>", order_views.OrderDetail.as_view(), name="order-detail"),
    path("entitlements", order_views.EntitlementList.as_view(), name="entitlements"),
    path(
        "entitlements/<int:pk>", order_views.EntitlementDetail.as_view(), name="entitlement-detail"
    ),
    path("entitlements/<int:pk>/", include(entitlement_urls)),
    path("devices", device_views.DeviceListCreate.as_view(), name="devices"),
    path("devices/<int:pk>", device_views.DeviceDetail.as_view(), name="device-detail"),
    path("devices/<int:pk>/", include(device_urls)),
    path("device/assignments", device_views.DeviceAssignments.as_view(), name="device-assignments"),
    path("agents/upload", views.AgentUpload.as_view(), name="agent-upload"),
    path("agents", views.AgentList.as_view(), name="agent-list"),
    path("agents/<int:pk>", views.AgentDetail.as_view(), name="agent-detail"),
    path("agents/<int:agent_id>/", include(agent_urls)),
]
