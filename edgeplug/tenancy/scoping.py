"""The one place a request's queries are narrowed to the caller's tenant.

Every tenant-owned query made for a request goes through ``for_request``; an object of
another tenant is therefore simply not found (404), never forbidden (403).
"""

from django.db.models import Model, QuerySet
from django.http import Http404


def request_tenant(request):
    """The tenant the caller acts for (from the JWT), or None for staff without one."""
    return getattr(request, "tenant", None)


def for_request(queryset: QuerySet, request, field: str = "tenant") -> QuerySet:
    tenant = request_tenant(request)
    if tenant is None:
        return queryset.none()
    return queryset.filter(**{field: tenant})


def get_for_request(queryset: QuerySet, request, field: str = "tenant", **lookup) -> Model:
    try:
        return for_request(queryset, request, field).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc
