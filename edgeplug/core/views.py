"""The landing page at ``/`` (what EdgePlug is, where each user goes next) and the site icon."""

from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_safe


@require_safe
def landing(request):
    return render(request, "landing.html")


@require_safe
def favicon(request):
    """Browsers ask every site for /favicon.ico; the icon is a static file."""
    return redirect(static("edgeplug/favicon.svg"), permanent=True)
