"""The project's URLs plus one API view that crashes, to see what a 500 looks like."""

from django.urls import path

from edgeplug import urls


def crash(request):
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/crash", crash), path("crash", crash), *urls.urlpatterns]
handler400 = urls.handler400
handler403 = urls.handler403
handler404 = urls.handler404
handler500 = urls.handler500
