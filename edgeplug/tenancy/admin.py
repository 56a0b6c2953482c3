"""Tenants and memberships in the admin. A new tenant is made by ``create_tenant``, a
changed one saved by ``update_tenant`` (audited, and followed by the catalogue), and
membership edits go through the tenancy actions (``add_member``, ``change_role``,
``remove_member``), so the admin refuses what the API refuses (removing or demoting a
tenant's last admin) and audits the same events. A slug and a name, new or changed, follow
``checked_tenant_slug`` and ``checked_tenant_name``; one the save meets taken all the same
(a second Save of the add form, sent before the first was done) is the form's error
(``SaveRefusedInTheFormMixin``). Tenants are never deleted here (nor in
bulk): a deletion would take their memberships, agents, orders and certificates with it,
unaudited, and meet the append-only audit log. Staff deactivate a tenant instead."""

from collections import defaultdict
from contextlib import contextmanager

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from edgeplug.core.admin import SaveRefusedInTheFormMixin
from edgeplug.errors import DomainError
from edgeplug.slugs import SLUG_RULE
from edgeplug.tenancy.models import Membership, Role, Tenant
from edgeplug.tenancy.services import (
    add_member,
    change_role,
    checked_tenant_name,
    checked_tenant_slug,
    create_tenant,
    ensure_an_admin_remains,
    ensure_can_be_admin,
    ensure_can_join,
    remove_member,
    update_tenant,
)


class TenantForm(forms.ModelForm):
    # Not Django's slug rule (it allows capitals and underscores): the tenancy rule alone.
    slug = forms.CharField(
        max_length=64, help_text=f"The vendor its packages' manifests name: {SLUG_RULE}."
    )

    class Meta:
        model = Tenant
        fields = ("name", "slug", "is_vendor", "is_customer", "is_active")

    def clean_name(self) -> str:
        return self._by_the_rule("name", checked_tenant_name)

    def clean_slug(self) -> str:
        # The tenant renamed may take back a slug it gave up; a new one (no pk) none.
        return self._by_the_rule(
            "slug", lambda slug: checked_tenant_slug(slug, tenant=self.instance)
        )

    def _by_the_rule(self, field: str, check) -> str:
        """``field`` as the tenancy rule ``check`` takes it (what create_tenant and
        update_tenant apply), said at the field; kept as stored on a tenant made before the
        rule, which may still be edited (or deactivated)."""
        value = self.cleaned_data[field]
        if self.instance.pk and value == getattr(self.instance, field):
            return value
        with _said_in_the_form():
            return check(value)


@contextmanager
def _said_in_the_form():
    """A tenancy rule's refusal, raised within, as the form's error where it is checked (its
    detail and code): the admin says what the API would answer."""
    try:
        yield
    except DomainError as exc:
        raise ValidationError(exc.detail, code=exc.code) from exc


class MembershipFormSet(BaseInlineFormSet):
    """Refuses, as form errors, what the tenancy actions would refuse when saved."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        # By tenant id: a tenant being added has none yet (and nobody can leave it).
        tenants: dict[int, Tenant] = {}
        leaving: dict[int, list[int]] = defaultdict(list)
        joining: dict[int | None, int] = defaultdict(int)
        for form in self.forms:
            deleted = self._should_delete_form(form)
            if not (form.has_changed() or deleted):
                continue
            membership = form.instance  # the edited values and the link to the parent
            was_admin = membership.pk is not None and form.initial.get("role") == Role.ADMIN
            is_admin = not deleted and form.cleaned_data.get("role") == Role.ADMIN
            if was_admin and not is_admin:
                tenants[membership.tenant_id] = membership.tenant
                leaving[membership.tenant_id].append(membership.pk)
            if is_admin and not was_admin:
                joining[membership.tenant_id] += 1  # one who can sign in (clean_user, clean_role)
        for tenant_id, pks in leaving.items():
            with _said_in_the_form():
                ensure_an_admin_remains(tenants[tenant_id], leaving=pks, joining=joining[tenant_id])


class _SavedChoice(AutocompleteSelect):
    """A saved row's tenant or user as its autocomplete shows it, from the row (the inline
    reads them with the rows) instead of looked up again: a query a row and field before."""

    def __init__(self, autocomplete: AutocompleteSelect, chosen):
        super().__init__(autocomplete.field, autocomplete.admin_site, autocomplete.attrs)
        self.chosen = chosen

    def optgroups(self, name, value, attr=None):
        chosen = self.create_option(name, self.chosen.pk, str(self.chosen), True, 0)
        return [(None, [chosen], 0)]


class MembershipForm(forms.ModelForm):
    """A saved membership's tenant and user are shown, not offered: they cannot change (remove
    the membership and add another). Offered, every save that changed them was refused, and
    the refused row's title showed the unsaved user."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for name in {"tenant", "user"} & set(self.fields):
                field = self.fields[name]
                field.disabled = True
                shown = field.widget  # the autocomplete, in the admin's related-links wrapper
                shown.widget = _SavedChoice(shown.widget, getattr(self.instance, name))

    def clean_user(self):
        """A new member is an account that can sign in (``ensure_can_join``, as the API)."""
        user = self.cleaned_data["user"]
        if self.instance.pk is None and user is not None:
            with _said_in_the_form():
                ensure_can_join(user)
        return user

    def clean_role(self):
        """A saved member made admin is an account that can sign in (``ensure_can_be_admin``,
        as the API and the portal)."""
        role = self.cleaned_data["role"]
        promoted = role == Role.ADMIN and self.initial.get("role") != Role.ADMIN
        if self.instance.pk is not None and promoted:
            with _said_in_the_form():
                ensure_can_be_admin(self.instance.user)
        return role


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ("tenant", "user")

    def get_queryset(self, request):
        # Each row's title and its shown tenant and user (_SavedChoice), read with the rows.
        return super().get_queryset(request).select_related("tenant", "user")


class AuditedMembershipsMixin:
    """For admins with a MembershipInline: every membership change through the actions
    (additions first, then role changes, then removals, so a swap of admins passes)."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        who = {"actor": request.user, "request": request}
        added, changed, removed = [], [], []
        for row in formset.forms:
            if formset._should_delete_form(row):
                if row.instance.pk is not None:
                    removed.append(row.instance)
            elif row.instance.pk is None and row.has_changed():
                added.append(row.instance)
            elif row.instance.pk is not None and "role" in row.changed_data:
                changed.append((row.instance, row.cleaned_data["role"]))
        # What the admin's change message (its history) reads.
        formset.new_objects = [
            add_member(membership.tenant, membership.user, membership.role, **who)
            for membership in added
        ]
        # Promotions before demotions: a swap of admins between two members passes.
        changed.sort(key=lambda change: change[1] != Role.ADMIN)
        formset.changed_objects = [
            (change_role(membership, role, **who), ["role"]) for membership, role in changed
        ]
        for membership in removed:
            remove_member(membership, **who)
        formset.deleted_objects = removed


@admin.register(Tenant)
class TenantAdmin(SaveRefusedInTheFormMixin, AuditedMembershipsMixin, admin.ModelAdmin):
    form = TenantForm
    list_display = ("slug", "name", "is_vendor", "is_customer", "is_active", "created_at")
    list_filter = ("is_vendor", "is_customer", "is_active")
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # untick "active" instead (see the module docstring)

    def save_model(self, request, obj, form, change):
        if change:
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            update_tenant(obj, changes, actor=request.user, request=request)
            return
        # The add form's fields are create_tenant's: name, slug, kinds, is_active.
        created = create_tenant(**form.cleaned_data, actor=request.user, request=request)
        # The form's object becomes the created row: the inlines and the redirect use it.
        obj.pk, obj.created_at, obj._state = created.pk, created.created_at, created._state
