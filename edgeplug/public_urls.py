"""Absolute links to the service for what leaves it without a request (emails):
``PUBLIC_BASE_URL`` and the route's path."""

from django.conf import settings
from django.urls import reverse


def public_url(route: str, *args) -> str:
    """The absolute URL of the route named ``route``, as the service's users reach it."""
    return settings.PUBLIC_BASE_URL + reverse(route, args=args)
