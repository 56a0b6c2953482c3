"""A tenant's audit trail as its admins read it: its members' actions as recorded, and what
EdgePlug's platform staff did to its objects without who did it or from where (staff
identities are not told to tenants, docs/roles.md)."""

from django.db.models import Case, F, QuerySet, Value, When

from edgeplug.audit.models import AuditEvent


def as_its_admins_read_it(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """The tenant's ``events`` with what its admins read of the actor: ``shown_actor_email``
    and ``shown_ip``, null for an event ``by_platform_staff`` (as recorded when it was
    written, whoever is staff now). Columns, so the list orders by them and tells nothing of
    the staff member that way either."""

    def unless_by_staff(field: str) -> Case:
        return Case(When(by_platform_staff=True, then=Value(None)), default=F(field))

    return events.annotate(
        shown_actor_email=unless_by_staff("actor_email"), shown_ip=unless_by_staff("ip")
    )
