"""The one place a request's queries are narrowed to what the caller may see.

How to scope a queryset for a request (views, serializers, filters; nothing else):

    for_request(Model.objects.all(), request)                       # the caller's tenant's rows
    for_request(Model.objects.all(), request, public=True)          # … plus the model's public()
    for_request(Model.objects.all(), request, staff=StaffGroup.X)   # … or all rows, for staff of X
    for_tenant(Model.objects.all(), tenant_pk, public=True)         # the same, before a request
    sees_only_public(Model.objects.all(), tenant)                   # … is that just public()?
    get_for_request(Model.objects.all(), request, pk=pk)            # one row, else 404
    get_referenced(visible, UnknownThing, "thing", value, pk=value)  # a body's row, else 400
    class Rows(TenantScoped, generics.ListAPIView):                 # a DRF generic view:
        queryset = Model.objects.all()                              # … the tenant's rows

Rules it keeps: every tenant-owned model has a ``tenant`` field (``field=`` names another
path, such as ``"version__tenant"``); a model with rows everyone may read gives its queryset
a ``public()`` method; staff powers need the group and a TOTP sign-in (``acts_as_staff``).
An object of another tenant is simply not found (404), never forbidden (403), when the URL
names it; when the body or the query string names it, it is unknown (400 ``unknown_<thing>``,
``edgeplug.errors.UnknownReference`` states the rule). Do not filter by ``request.tenant``
anywhere else: add what you need here.
"""

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from edgeplug.errors import UnknownReference
from edgeplug.tenancy.permissions import acts_as_staff


def request_tenant(request):
    """The tenant the caller acts for (from the JWT), or None for staff without one."""
    return getattr(request, "tenant", None)


def for_request(
    queryset: QuerySet,
    request,
    field: str = "tenant",
    *,
    public: bool = False,
    staff: str | None = None,
) -> QuerySet:
    if staff is not None and acts_as_staff(request, staff):
        return queryset
    return for_tenant(queryset, request_tenant(request), field, public=public)


def for_tenant(
    queryset: QuerySet, tenant, field: str = "tenant", *, public: bool = False
) -> QuerySet:
    """``for_request`` for a caller acting for ``tenant`` (a tenant, its pk, or None), without
    staff powers: for a query built before its request (``edgeplug.core.compiled``)."""
    visible = Q(pk__in=queryset.model.objects.public().values("pk")) if public else Q()
    if tenant is not None:
        own = _own(tenant, field)
        return queryset.filter(own | visible if public else own)
    return queryset.filter(visible) if public else queryset.none()


def sees_only_public(queryset: QuerySet, tenant, field: str = "tenant") -> bool:
    """Whether ``for_tenant(queryset, tenant, public=True)`` is the model's ``public()`` and
    nothing more, so what it shows may be shared with anyone: the caller acts for no tenant
    (no query), or for one that owns none of the rows (one ``EXISTS``). What a tenant owns
    decides, not what kind of tenant it is: ``for_tenant`` adds its own rows whatever it is."""
    return tenant is None or not queryset.filter(_own(tenant, field)).exists()


def _own(tenant, field: str) -> Q:
    # By primary key, so that ``field`` may be ``"pk"`` too (the tenants themselves).
    return Q(**{field: getattr(tenant, "pk", tenant)})


def get_for_request(queryset: QuerySet, request, field: str = "tenant", **lookup) -> Model:
    try:
        return for_request(queryset, request, field).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc


def get_referenced(
    visible: QuerySet, error: type[UnknownReference], field: str, value: object, **lookup
) -> Model:
    """The row of ``visible`` (the rows the caller may see, already scoped) that the request's
    body or query string names in ``field``, found by ``lookup``; else ``error``: 400
    ``unknown_<thing>`` naming the field, the same for a row that does not exist and for one
    the caller may not see (``UnknownReference``)."""
    found = visible.filter(**lookup).first()
    if found is None:
        raise error(field, value)
    return found


class TenantScoped:
    """A DRF generic view over the caller's tenant's rows: it names all rows in ``queryset``
    and sees them through ``for_request`` (put it before the generic view class)."""

    def get_queryset(self):
        return for_request(super().get_queryset(), self.request)
