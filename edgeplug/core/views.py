"""The landing page at ``/``: what EdgePlug is and where each kind of user goes next."""

from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def landing(request):
    return render(request, "landing.html")
