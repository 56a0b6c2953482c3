"""A tenant's audit trail as its admins read it: its members' actions as recorded, and what
EdgePlug's platform staff did to its objects without who did it or from where (staff
identities are not told to tenants, docs/roles.md)."""

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Value,
    When,
)

from edgeplug.accounts.models import User
from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Membership
from edgeplug.tenancy.services import platform_staff


def as_its_admins_read_it(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """The tenant's ``events`` with ``by_platform_staff`` (the actor is platform staff and
    not a member of the tenant, as the list is read) and what its admins read of the actor:
    ``shown_actor_email`` and ``shown_ip``, null for such an event. Columns, so the list
    orders by them and tells nothing of the staff member that way either."""
    staff = User.objects.filter(platform_staff(), pk=OuterRef("actor"))
    member = Membership.objects.filter(user=OuterRef("actor"), tenant=OuterRef("tenant"))
    by_staff = ExpressionWrapper(Exists(staff) & ~Exists(member), output_field=BooleanField())

    def unless_by_staff(field: str) -> Case:
        return Case(When(by_platform_staff=True, then=Value(None)), default=F(field))

    return events.annotate(by_platform_staff=by_staff).annotate(
        shown_actor_email=unless_by_staff("actor_email"), shown_ip=unless_by_staff("ip")
    )
