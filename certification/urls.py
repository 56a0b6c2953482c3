from django.urls import path

from certification.api import views

urlpatterns = [
    path("certification/submit", views.Submit.as_view(), name="certification-submit"),
    path("certification/queue", views.Queue.as_view(), name="certification-queue"),
    path("certification/<int:pk>", views.RunDetail.as_view(), name="certification-run"),
    path(
        "certification/<int:pk>/certificate",
        views.RunCertificate.as_view(),
        name="certification-run-certificate",
    ),
    path("agents/<int:pk>/certify", views.AgentCertify.as_view(), name="agent-certify"),
    path(
        "agents/<int:agent_id>/versions/<str:version>/certificate",
        views.VersionCertificate.as_view(),
        name="agent-version-certificate",
    ),
]
