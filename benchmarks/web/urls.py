"""The production URLs plus two ceilings; never part of ``edgeplug.urls``."""

from django.urls import path

from benchmarks.web import views
from edgeplug.urls import urlpatterns as production

urlpatterns = [
    path("bench/ceiling", views.ceiling, name="bench-ceiling"),
    path("bench/rows", views.rows, name="bench-rows"),
    *production,
]
