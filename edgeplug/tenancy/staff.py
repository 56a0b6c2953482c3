"""Who is EdgePlug's platform staff: the one rule, asked by the team page (a staff account is
answered as none) and by the audit log as it records what staff do to a tenant's objects."""

from django.db.models import Exists, OuterRef, Q, Value

from edgeplug.accounts.models import User
from edgeplug.tenancy.models import StaffGroup


def platform_staff() -> Q:
    """Which users are platform staff, by any sign: the admin's flags, or a staff group,
    which is what gives staff their powers (``in_staff_group``) whether or not "staff
    status" is ticked. A condition on users, so a list can ask it of each row's user."""
    groups = User.groups.through.objects.filter(
        user=OuterRef("pk"), group__name__in=StaffGroup.values
    )
    return Q(is_staff=True) | Q(is_superuser=True) | Exists(groups)


def is_platform_staff(user: User) -> bool:
    """Whether ``user`` is platform staff now (``platform_staff``)."""
    return User.objects.filter(platform_staff(), pk=user.pk).exists()


def acts_as_platform_staff(user: User | None, tenant) -> Exists | Value:
    """Whether what ``user`` does to ``tenant``'s objects is done by EdgePlug's platform
    staff, whose identities are not told to tenants (docs/roles.md): ``user`` is staff and not
    a member of ``tenant`` (a member in a staff group acts as the tenant's own). An
    expression, so the audit event's INSERT asks it, with no query of its own."""
    if user is None or tenant is None:
        return Value(False)
    staff = User.objects.filter(platform_staff(), pk=user.pk)
    return Exists(staff.exclude(memberships__tenant=tenant))
