"""Public, unauthenticated documents under ``/.well-known/edgeplug/``: the platform key set
that devices and the CLI use to verify certificates offline."""

from django.urls import path

from certification.api import views

urlpatterns = [path("keys.json", views.published_keys, name="published-keys")]
