"""Tenant and membership operations; each writes its audit event in the same transaction."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F

from edgeplug.accounts.models import User
from edgeplug.audit.services import field_changes, record_change, record_event
from edgeplug.core.locking import locked, unique_or
from edgeplug.errors import BadRequest, Conflict, DomainError, Forbidden, UnknownReference
from edgeplug.reasons import require_text
from edgeplug.slugs import SLUG_RULE, is_slug
from edgeplug.tenancy.models import TENANT_KIND_RULE, Membership, Role, StaffGroup, Tenant
from edgeplug.tenancy.permissions import in_staff_group
from edgeplug.tenancy.signals import tenant_changed
from edgeplug.tenancy.staff import is_platform_staff
from edgeplug.text import unreadable


class LastAdmin(Conflict, code="last_admin"): ...


class InvalidSlug(BadRequest, code="invalid_slug"):
    """A slug that no package manifest could name as its vendor."""


class InvalidTenantName(BadRequest, code="invalid_tenant_name"):
    """A name others would not read as written, or none at all."""


def lock_tenant(tenant: Tenant | int) -> Tenant:
    """The tenant's row, read again and locked until the transaction ends: what every change
    that decides from a tenant's state holds (its own edit, who its admins are, its default
    card, its standing: ``marketplace.orders.lock_standing``), so two at once are decided one
    after the other, each from what the other committed. ``FOR NO KEY UPDATE``: rows referring
    to the tenant (orders, audit events, usage) are inserted meanwhile as usual, their foreign
    keys' ``KEY SHARE`` does not conflict with it. Except while a slug changes: the slug is a
    unique key, so PostgreSQL's UPDATE of it takes ``FOR UPDATE``, and such inserts wait for
    the rename to commit."""
    return locked(tenant if isinstance(tenant, Tenant) else Tenant(pk=tenant))


class SlugRetired(Conflict, code="slug_retired"):
    """A slug another tenant gave up in a rename: its packages and certificates name it."""


def checked_tenant_slug(slug: str, *, tenant: Tenant | None = None) -> str:
    """The one rule for a tenant's slug, wherever a tenant is made or renamed (``tenant``, the
    one renamed): it is the ``vendor`` its packages' manifests name, which ``upload_package``
    requires, and not a slug another tenant gave up (``refuse_a_retired_slug``)."""
    if not is_slug(slug):
        raise InvalidSlug(
            f"{slug!r} cannot be a tenant slug: use {SLUG_RULE}, "
            "as a package manifest names its vendor."
        )
    refuse_a_retired_slug(slug, tenant=tenant)
    return slug


def refuse_a_retired_slug(slug: str, *, tenant: Tenant | None = None) -> None:
    """``SlugRetired`` when a tenant other than ``tenant`` (a new one: any) gave ``slug`` up in
    a rename: the manifests of its packages and the certificates signed for them still name
    their vendor by it, and would then stand for two companies."""
    holder = (  # the tenant that gave it up (``RetiredSlug``: one at most)
        Tenant.objects.filter(retired_slugs__slug=slug)
        .annotate(retired_at=F("retired_slugs__retired_at"))
        .first()
    )
    if holder is None or (tenant is not None and holder.pk == tenant.pk):
        return
    raise SlugRetired(
        f"{slug!r} was the slug of {holder.name} (now {holder.slug!r}) until "
        f"{holder.retired_at:%Y-%m-%d}: the packages and certificates of that vendor name it, "
        "so no other tenant may take it. Choose another slug.",
        field="slug",
    )


def checked_tenant_name(name: str | None) -> str:
    """The one rule for a tenant's name, wherever a tenant is made or renamed: it is what
    others read of the tenant (the vendor's name in the catalogue, the reviewer's under a
    review, the payee on a payout statement). Without the blanks around it, something left,
    within its column, and shown as written (``edgeplug.text.unreadable``: no control or
    bidirectional character), else ``invalid_tenant_name``."""
    name = require_text(
        name,
        max_length=Tenant._meta.get_field("name").max_length,
        name="name",
        missing=InvalidTenantName,
        too_long=InvalidTenantName,
        missing_detail="A tenant needs a name.",
    )
    if refusal := unreadable(name):
        raise InvalidTenantName(f"name: {refusal}", field="name")
    return name


@transaction.atomic
def create_tenant(
    *,
    name: str,
    slug: str,
    is_vendor: bool = False,
    is_customer: bool = True,
    is_active: bool = True,
    actor=None,
    request=None,
) -> Tenant:
    """The one way a tenant is created (management commands, the admin, the demo seed)."""
    checked_tenant_slug(slug)
    name = checked_tenant_name(name)
    _check_tenant_kind(is_vendor=is_vendor, is_customer=is_customer)
    with unique_or(_slug_taken(slug)):
        tenant = Tenant.objects.create(
            name=name, slug=slug, is_vendor=is_vendor, is_customer=is_customer, is_active=is_active
        )
    # A rename giving the slug up may have committed while the insert waited for its row (the
    # slug is unique), after the check above: read again, now that it has.
    refuse_a_retired_slug(slug, tenant=tenant)
    record_event("tenant_created", actor=actor, request=request, tenant=tenant, target=slug)
    return tenant


# What update_tenant may change; the rest (the id, created_at) never changes.
TENANT_FIELDS = ("name", "slug", "is_vendor", "is_customer", "is_active")


@transaction.atomic
def update_tenant(
    tenant: Tenant, changes: Mapping[str, Any], *, actor=None, request=None
) -> Tenant:
    """The one way a tenant's name, slug, kinds or active flag change (the admin's tenant
    page): ``changes`` maps fields to new values; those that differ from the stored row are
    saved, audited as ``tenant_changed`` (each field's ``from`` and ``to``) and sent as the
    ``tenant_changed`` signal (the catalogue copies the vendor's name). Nothing that differs,
    nothing written."""
    _reject_unknown_tenant_fields(changes)
    row = lock_tenant(tenant)
    if "name" in changes and changes["name"] != row.name:
        # Compared as it would be stored: the same name padded is no change.
        changes = {**changes, "name": checked_tenant_name(changes["name"])}
    changed = field_changes({field: getattr(row, field) for field in changes}, changes)
    if not changed:
        return row
    if "slug" in changed:
        checked_tenant_slug(changes["slug"], tenant=row)
    for field, change in changed.items():
        setattr(row, field, change["to"])
    _check_tenant_kind(is_vendor=row.is_vendor, is_customer=row.is_customer)
    with unique_or(_slug_taken(row.slug)):
        row.save(update_fields=list(changed))
    if "slug" in changed:
        _retire_slug(row, changed["slug"]["from"])
    record_event(
        "tenant_changed",
        actor=actor,
        request=request,
        tenant=row,
        target=row.slug,
        details={"fields": changed},
    )
    tenant_changed.send(sender=Tenant, tenant=row, changed=changed)
    return row


def _retire_slug(row: Tenant, given_up: str) -> None:
    """After ``row``'s rename: the slug it gave up is retired, its own; the slug it took, if it
    held it before, is its again."""
    # As in create_tenant: a rename giving the new slug up may have committed meanwhile.
    refuse_a_retired_slug(row.slug, tenant=row)
    row.retired_slugs.filter(slug=row.slug).delete()
    row.retired_slugs.get_or_create(slug=given_up)


def _reject_unknown_tenant_fields(changes: Mapping[str, Any]) -> None:
    unknown = sorted(set(changes) - set(TENANT_FIELDS))
    if unknown:
        raise DomainError(
            f"A tenant's {', '.join(unknown)} cannot be changed.", code="tenant_field_fixed"
        )


def _check_tenant_kind(*, is_vendor: bool, is_customer: bool) -> None:
    if not (is_vendor or is_customer):
        raise DomainError(TENANT_KIND_RULE, code="tenant_kind")


def _slug_taken(slug: str) -> Conflict:
    return Conflict(f"A tenant with slug {slug!r} exists.", code="tenant_exists")


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", code="invalid_role")


class AccountDeactivated(Conflict, code="account_deactivated"):
    """A deactivated account cannot sign in: added, it would be listed as a member who can
    never use the team."""


def ensure_can_join(user: User, *, field: str = "user") -> None:
    """The one rule of who may join a team, whichever door adds them (the API, the portal,
    the admin's memberships): an account that can sign in."""
    _reject_deactivated(user, field=field, until="it can join a team")


def ensure_can_be_admin(user: User, *, field: str = "role") -> None:
    """The one rule of who may be made a tenant's admin, whichever door changes the role:
    an account that can sign in. One that cannot is no admin (``_admins``), and reactivated
    it would be one that no admin of the tenant chose."""
    _reject_deactivated(user, field=field, until="it can be made an admin")


def _reject_deactivated(user: User, *, field: str, until: str) -> None:
    if not user.is_active:
        raise AccountDeactivated(
            f"{user.email} belongs to a deactivated account, which cannot sign in: {until} "
            "once EdgePlug support reactivates it.",
            field=field,
        )


@transaction.atomic
def add_member(
    tenant: Tenant, user: User, role: str, *, actor=None, request=None, named_by: str = "user"
) -> Membership:
    """``user`` joins ``tenant`` as ``role``; refused for a deactivated account
    (``account_deactivated``) and a member already (``already_member``), both about the
    request's field ``named_by``: the admin's user."""
    _check_role(role)
    ensure_can_join(user, field=named_by)
    already = Conflict(
        f"{user.email} is already a member of {tenant.name}.",
        code="already_member",
        field=named_by,
    )
    with unique_or(already):
        membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    record_change(
        "membership_created",
        membership,
        actor=actor,
        request=request,
        target=user.email,
        details={"role": role},
    )
    return membership


class UnknownUser(UnknownReference, code="unknown_user", thing="user"):
    """Members are existing accounts: nobody is invited by an email without one."""


def add_member_by_email(
    tenant: Tenant, email: str, role: str, *, actor=None, request=None
) -> Membership:
    """``add_member`` for the account that uses ``email`` (any case), as the API and the
    vendor portal's team page add members: a tenant's admins. Not platform staff: a vendor
    adding a reviewer to itself would take that reviewer off its runs (a reviewer never
    decides a tenant's work it belongs to); superusers add staff to a tenant in the admin."""
    user = User.objects.with_email(email).first()
    # A staff account is answered as no account: saying it is staff would hand any tenant
    # admin the list of EdgePlug's staff.
    if user is None or is_platform_staff(user):
        raise UnknownUser(
            "email", email, detail="no EdgePlug account uses it: ask them to create one first."
        )
    return add_member(tenant, user, role, actor=actor, request=request, named_by="email")


class NotAReviewer(Forbidden, code="not_a_reviewer"):
    """Only the reviewers staff group (and superusers) decide on a tenant's work."""


class OwnTenantReview(Forbidden, code="own_tenant_review"):
    """Staff may not review work of a tenant they belong to."""


def check_reviewer(reviewer: User, tenant: Tenant) -> None:
    """The one rule of who decides on a tenant's work (certification runs, workflow packages),
    whichever door asks: a reviewer (``check_is_reviewer``), and four eyes: not its member."""
    check_is_reviewer(reviewer)
    if reviewer.memberships.filter(tenant=tenant).exists():
        raise OwnTenantReview("You cannot review a package of a tenant you belong to.")


def check_is_reviewer(user: User) -> None:
    """``not_a_reviewer`` unless ``user`` is an active account in the reviewers group: asked
    first by a door that looks the work up after (the admin's decide URL), so whether it
    exists is no answer to anyone else. A deactivated account decides nothing, whatever its
    groups (a command acting in its name, ``seed_demo``, is refused as a request would be)."""
    if not in_staff_group(user, StaffGroup.REVIEWERS):
        raise NotAReviewer("Only reviewers decide on certification runs and workflow packages.")
    if not user.is_active:
        raise NotAReviewer(f"{user.email} is deactivated: a deactivated account decides nothing.")


def ensure_an_admin_remains(
    tenant: Tenant, *, leaving: Iterable[int] = (), joining: int = 0
) -> None:
    """The one rule that a tenant with admins keeps at least one who can sign in (``_admins``):
    ``leaving`` are admin memberships about to lose the role or go, ``joining`` new admins in
    the same change."""
    if joining == 0 and _admins_leave_none(tenant.pk, leaving):
        raise LastAdmin(f"{tenant.name} must keep at least one admin.")


def _admins(tenant_id: int):
    """The tenant's admin memberships that count as admins: those whose account can sign in.
    A deactivated admin (who can neither sign in nor be added: ``ensure_can_join``) keeps no
    team running; counted, the only admin who could sign in stepped down."""
    return Membership.objects.filter(tenant=tenant_id, role=Role.ADMIN, user__is_active=True)


def _admins_leave_none(tenant_id: int, leaving: Iterable[int]) -> bool:
    """Whether ``leaving`` takes away the tenant's last admins who can sign in (taking away
    one who cannot takes away no admin: a tenant none can run may still be cleaned up)."""
    admins, leaving = _admins(tenant_id), list(leaving)
    return admins.filter(pk__in=leaving).exists() and not admins.exclude(pk__in=leaving).exists()


def sole_admin(tenant_id: int) -> int | None:
    """The pk of the tenant's only admin membership, which may neither leave nor lose the
    role (refused with ``last_admin``), else None: what a page asks so as not to offer
    either."""
    first_two = list(_admins(tenant_id).values_list("pk", flat=True)[:2])
    return first_two[0] if len(first_two) == 1 else None


def is_last_admin(membership: Membership) -> bool:
    """Whether ``membership`` is its tenant's only admin (``sole_admin``)."""
    return sole_admin(membership.tenant_id) == membership.pk


def _ensure_other_admin(membership: Membership) -> None:
    if membership.role == Role.ADMIN:
        ensure_an_admin_remains(membership.tenant, leaving=[membership.pk])


def _locked_membership(membership: Membership) -> Membership:
    """The membership locked, after its tenant's row: a change that may take an admin away
    counts the admins left while holding the tenant, so two at once (two admins demoting or
    removing each other) are decided one after the other; each alone saw the other admin
    still there and both went through, leaving the tenant with none."""
    lock_tenant(membership.tenant_id)
    return locked(membership)


@transaction.atomic
def change_role(membership: Membership, role: str, *, actor=None, request=None) -> Membership:
    _check_role(role)
    membership = _locked_membership(membership)
    if role == membership.role:
        return membership
    if role == Role.ADMIN:
        ensure_can_be_admin(membership.user)
    else:
        _ensure_other_admin(membership)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    record_change(
        "role_changed",
        membership,
        actor=actor,
        request=request,
        target=membership.user.email,
        details={"from": old, "to": role},
    )
    return membership


@transaction.atomic
def remove_member(membership: Membership, *, actor=None, request=None) -> None:
    membership = _locked_membership(membership)
    _ensure_other_admin(membership)
    record_change(
        "membership_removed",
        membership,
        actor=actor,
        request=request,
        target=membership.user.email,
        details={"role": membership.role},
    )
    membership.delete()
