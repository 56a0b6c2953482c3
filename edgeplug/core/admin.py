"""Admin building blocks shared by every app."""

import calendar
import re
from collections.abc import Callable
from datetime import date

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import AutoField, CharField, QuerySet
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe

from edgeplug.audit.services import record_if_denied
from edgeplug.errors import DomainError, Forbidden
from edgeplug.tenancy.models import StaffGroup
from edgeplug.tenancy.permissions import in_staff_group
from edgeplug.tenancy.services import check_is_reviewer, check_reviewer
from edgeplug.text import ascii_integer


def object_url(model_admin, name: str, view) -> URLPattern:
    """The URL of a page or form action on one object beside its change page: ``<id>/<name>/``,
    named ``<app>_<model>_<name>`` in the ``admin`` namespace like the admin's own URLs, behind
    the admin's staff login. ``view(request, object_id)`` checks its own permissions."""
    opts = model_admin.model._meta
    return path(
        f"<int:object_id>/{name}/",
        model_admin.admin_site.admin_view(view),
        name=f"{opts.app_label}_{opts.model_name}_{name}",
    )


def object_page(model_admin, request, obj_id, name: str) -> str:
    """The URL of ``obj_id``'s admin page ``name`` ("change", or an ``object_url`` beside it:
    a form's action, the redirect after it), keeping the change list filters the request came
    with (``_changelist_filters``), as the admin's own links and redirects keep them: its
    "Close" then goes back to the list as the reader left it."""
    opts = model_admin.opts
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=[obj_id])
    preserved = model_admin.get_preserved_filters(request)
    return add_preserved_filters({"preserved_filters": preserved, "opts": opts}, url)


def action_confirmation(model_admin, request, template: str, **context) -> TemplateResponse:
    """The first step of a list action that moves money or reaches the customer (*Refund in
    full*, *Finalize now*, *Resend the invoice email*), as Django's "delete selected" asks
    first: ``template``, extending
    ``admin/action_confirmation.html``, with ``context`` (``step``, ``rows``, ``confirmed``:
    the ids Confirm posts back with ``action`` and ``post=yes``, ``confirm_label``,
    ``none_text``, ``back_text``) and what every such page needs; Cancel goes back to the
    change list, its filters kept."""
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "subtitle": None,
            "opts": model_admin.opts,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": request.get_full_path(),  # the list, with its filters
            "media": model_admin.media,
            **context,
        },
    )


def filter_ignored(request, title: str, why: str) -> None:
    """Say that a list URL's filter was left out, and why (a stale or typed URL shows the
    whole list and says so, not an error page nor an empty list that reads as "none")."""
    messages.warning(request, f"{title.capitalize()} filter ignored: {why}")


def none_of(value: str, choices) -> str:
    """Why a filter's value was left out: it is none of its ``choices``."""
    return f"{value!r} is not one of {', '.join(choices)}."


class ChoicesFilter(admin.SimpleListFilter):
    """A list filter of a few named ways to narrow the list: ``ways`` maps
    the URL's value to its label and what it does to the queryset. Any other value lists all,
    saying so (``filter_ignored``)."""

    ways: dict[str, tuple[str, Callable[[QuerySet], QuerySet]]] = {}

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _) in self.ways.items()]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        chosen = self.ways.get(self.value())
        if chosen is None:
            filter_ignored(request, str(self.title), none_of(self.value(), self.ways))
            return queryset
        return chosen[1](queryset)


def drop_ignored(request, why_ignored: Callable[[str, str], tuple[str, str] | None]) -> None:
    """Leave out of the request's query each parameter one of whose values
    ``why_ignored(key, value)`` gives a reason for, ``(title, why)``, said by
    ``filter_ignored``."""
    kept = request.GET.copy()
    for key in request.GET:
        for value in request.GET.getlist(key):
            if said := why_ignored(key, value):
                filter_ignored(request, *said)
                del kept[key]
                break
    request.GET = kept


# A part of a date a list URL filters by (``?created_at__year=``, ``…__iso_year__gte=``,
# ``…__month=``, ``…__day=``), and the last value a date holds: Python's dates hold years 1
# to 9999 (an ISO year to 9998, whose end is the next one's start).
_DATE_PART_PARAMETER = re.compile(
    r"(?P<field>\w+?)__(?P<part>iso_year|year|month|day)(?:__(?:exact|gte|gt|lte|lt))?"
)
_LAST = {"iso_year": 9998, "year": 9999, "month": 12, "day": 31}


def drop_unreadable_dates(request, date_hierarchy: str | None = None) -> None:
    """Leave out a list URL's year, month or day that no date holds (``drop_ignored``), and a
    drill-down of the list's ``date_hierarchy`` that ends on the last date. Django reads the
    year when the query runs, past the admin's check of its URL's lookups
    (``?created_at__year=0`` was a 500 on every list); its date hierarchy reads its year,
    month and day as a date, a month or day past a C long a 500 too. The site does it for
    every admin page (``EdgePlugAdminSite.admin_view``), Django's and other apps' lists too."""
    drop_ignored(request, _unreadable_date_part)
    if date_hierarchy:
        _drop_drill_down_to_the_last_date(request, date_hierarchy)


def _unreadable_date_part(key: str, value: str) -> tuple[str, str] | None:
    if not (parameter := _DATE_PART_PARAMETER.fullmatch(key)):
        return None
    last = _LAST[parameter["part"]]
    number = ascii_integer(value)
    if number is not None and 1 <= number <= last:
        return None
    part = "ISO year" if parameter["part"] == "iso_year" else parameter["part"]
    return _field_title(parameter["field"]), f"{value!r} is no {part} from 1 to {last}."


def _drop_drill_down_to_the_last_date(request, field: str) -> None:
    """Django shows a drill-down's year (month, day) as the dates from its start up to the
    next one's, and none follows 9999-12-31 (``?created_at__year=9999`` was a 500): the
    drill-down is left out, said as an ignored filter. Its parts are readable here
    (``_unreadable_date_part``); Django reads the last value of each."""
    keys = [f"{field}__{part}" for part in ("year", "month", "day")]
    given = [request.GET.get(key) for key in keys]
    year, month, day = (None if value is None else int(value) for value in given)
    if year is None or not _ends_on_the_last_date(year, month, day):
        return
    shown = "-".join(value for value in given if value is not None)
    filter_ignored(
        request,
        _field_title(field),
        f"{shown!r} ends on {date.max}, the last date there is: "
        "the list reads it up to the day after.",
    )
    kept = request.GET.copy()
    for key in keys:
        kept.pop(key, None)
    request.GET = kept


def _ends_on_the_last_date(year: int, month: int | None, day: int | None) -> bool:
    """Whether the last date a drill-down shows is ``date.max``: a year's last is December
    31st, a month's its last day; a day without a month is in January, as Django reads it."""
    month = month or (1 if day else 12)
    day = day or calendar.monthrange(year, month)[1]
    return (year, month, day) == (date.max.year, date.max.month, date.max.day)


def _field_title(field: str) -> str:
    return field.replace("__", " ").replace("_", " ")


def drop_empty_to_field(request) -> None:
    """Leave out an empty ``_to_field`` (a related-object popup's "the row is named by this
    field", given no field), of the query or the form: Django refuses one that names no field
    the popup may use (400) only when it names a field, then looks the row up by it, "no field
    named ''" (a 500 on every change and delete page, before the page's permission is asked).
    Without it the page reads its row by its id. The site does it for every admin page
    (``EdgePlugAdminSite.admin_view``)."""
    for method in ("GET", "POST"):
        query = getattr(request, method)
        if query.get(TO_FIELD_VAR) == "":  # the value Django reads: the last
            kept = query.copy()
            del kept[TO_FIELD_VAR]
            setattr(request, method, kept)


class FilterParametersChecked:
    """A changelist whose URL filters a field by a value the list could not hold: none of a
    field's choices (``?status=`` or ``?status__exact=``, as its list filter links), and, for
    a field the list filters by, a value no row holds (``?currency=eur`` where EUR is stored)
    or a related row that does not exist (``?tenant__id__exact=999999``). That parameter is
    left out and said (``filter_ignored``), as the list's own filters say theirs. Django
    applied it as given: an empty list, read as "no such invoices"."""

    # Beyond this many, a refusal does not list the values a field holds.
    listed_at_most = 12

    def changelist_view(self, request, extra_context=None):
        drop_ignored(request, self._ignored)
        return super().changelist_view(request, extra_context)

    def _ignored(self, key: str, value: str) -> tuple[str, str] | None:
        field = self._filtered_field(key)
        if field is not None and (why := self._unheld(field, value)):
            return str(field.verbose_name), why
        return None

    def _filtered_field(self, key: str):
        """The field a URL parameter filters, where this check reads it: any field with
        choices; a text field or a relation of the list's filters (``currency``, ``tenant``
        or ``tenant__id``, each with ``__exact`` or not). Others (dates, booleans) are
        Django's to read."""
        name = key.removesuffix("__exact")
        try:
            field = self.model._meta.get_field(name.removesuffix("__id"))
        except FieldDoesNotExist:
            return None
        if field.flatchoices and name == field.name:
            return field
        listed = {
            entry if isinstance(entry, str) else entry[0]
            for entry in self.list_filter
            if isinstance(entry, str | tuple)  # not a SimpleListFilter: it reads its own
        }
        if field.name not in listed:
            return None
        if field.many_to_one:
            # A row named by its id (every model here): another key is Django's to read.
            return field if isinstance(field.target_field, AutoField) else None
        return field if isinstance(field, CharField) and name == field.name else None

    def _unheld(self, field, value: str) -> str | None:
        """Why ``value`` cannot be the field's, else None."""
        if field.flatchoices:
            choices = [str(choice) for choice, _ in field.flatchoices]
            return None if value in choices else none_of(value, choices)
        if field.many_to_one:
            related = field.related_model
            pk = ascii_integer(value)
            if pk is None or not related._default_manager.filter(pk=pk).exists():
                return f"{value!r} names no {related._meta.verbose_name}."
            return None
        rows = self.model._default_manager.all()
        if rows.filter(**{field.name: value}).exists():
            return None
        held = rows.order_by(field.name).values_list(field.name, flat=True).distinct()
        values = list(held[: self.listed_at_most + 1])
        if not values or len(values) > self.listed_at_most:
            return f"no row holds {value!r}."
        return none_of(value, values)


# The tenant filter of a list of a few tenants' rows (the reviewers' queue, workflow packages,
# scan findings, orders, invoices, money to give back): the tenants its rows name, not every
# tenant of the platform (Django's RelatedFieldListFilter read and linked them all).
TENANT_FILTER = ("tenant", admin.RelatedOnlyFieldListFilter)


def held_values(model, field_name: str) -> list:
    """The distinct values an indexed column of ``model``'s table holds, NULL left out, in
    order: read one index entry per value (a loose index scan, PostgreSQL and SQLite alike),
    not every row as ``SELECT DISTINCT`` reads them, for a list filter on a table that only
    grows (the audit log)."""
    ops = connections[model._default_manager.db].ops
    table = ops.quote_name(model._meta.db_table)
    column = ops.quote_name(model._meta.get_field(field_name).column)
    sql = (
        f"WITH RECURSIVE held(value) AS (SELECT MIN({column}) FROM {table} "  # noqa: S608
        f"UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > held.value) "
        "FROM held WHERE held.value IS NOT NULL) SELECT value FROM held WHERE value IS NOT NULL"
    )
    with connections[model._default_manager.db].cursor() as cursor:
        cursor.execute(sql)
        return [value for (value,) in cursor.fetchall()]


class HeldValuesFilter(admin.AllValuesFieldListFilter):
    """Django's filter by each value a text field holds (``?action=login``), its values read
    by ``held_values`` (one index entry each) instead of ``SELECT DISTINCT`` over every row.
    For an indexed field of a model whose admin lists every row."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = held_values(model, field_path)


class HeldRelatedFilter(admin.RelatedOnlyFieldListFilter):
    """``TENANT_FILTER``'s rule (the related rows the list's rows name) for
    a model whose admin lists every row of a table that only grows: their ids read by
    ``held_values`` from the link's index, not by ``SELECT DISTINCT`` over every row."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        held = held_values(model_admin.model, self.field_path)
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": held}, ordering=ordering
        )


class EstimatedCountPaginator(Paginator):
    """A paginator for an admin list of a table that only grows (the audit log): the
    unfiltered list's count is PostgreSQL's estimate of the table's rows (``pg_class
    .reltuples``, as of its last ANALYZE), not a ``COUNT(*)`` reading every row on every page
    view. It counts the first ``exact_below`` rows, at most, first: a smaller table is counted
    exactly, whatever its statistics say. A filtered or searched list and other databases are
    counted exactly. Set ``show_full_result_count = False`` beside it: Django's "(N total)"
    counts the whole table again."""

    exact_below = 10_000

    @cached_property
    def count(self):
        rows = self.object_list
        query = getattr(rows, "query", None)
        connection = connections[rows.db] if query is not None else None
        if (
            connection is None
            or connection.vendor != "postgresql"
            or query.where
            or query.distinct
            or query.combinator
        ):
            return super().count
        first = rows.order_by()[: self.exact_below].count()
        if first < self.exact_below:
            return first
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [connection.ops.quote_name(rows.model._meta.db_table)],
            )
            found = cursor.fetchone()
        return max(found[0] if found else 0, first)


class ReadOnlyAdminMixin:
    """Records written only by the system (audit events, runs, certificates): staff read
    them in the admin, nobody adds, edits or deletes them there."""

    def has_add_permission(self, request, obj=None):  # inlines pass the parent object
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Where a save's refusal rides from the refused save to the same request's form shown again.
_REFUSED_SAVE = "_edgeplug_refused_save"


class SaveRefusedInTheFormMixin:
    """An add or change page whose save goes through an action (``create_tenant``,
    ``save_level_thresholds``, …) shows the action's refusal (a ``DomainError``: a slug,
    email or level taken by a request that committed between this form's checks and its save)
    as the form's error, the form as it was sent: never a 500. The admin's
    ``changeform_view`` is one transaction, so all of the refused save is rolled back; the
    page is then made again from the same POST, its form checked again: what the form's own
    checks now find (the slug taken) is said where they say it, else the refusal is, at its
    ``field`` if the form has one. A 403 is audited as a denial, as the API audits it."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as refusal:
            if request.method != "POST" or hasattr(request, _REFUSED_SAVE):
                raise
            record_if_denied(request, refusal)
            setattr(request, _REFUSED_SAVE, refusal)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        refusal = getattr(request, _REFUSED_SAVE, None)
        return form if refusal is None else _refused(form, refusal)


def _refused(form_class, refusal: DomainError):
    """``form_class`` whose form, valid but for what its save met, is refused with
    ``refusal``."""

    class Refused(form_class):
        def full_clean(self):
            super().full_clean()
            if self.is_bound and not self._errors:  # else said already, by the form's checks
                field = refusal.field if refusal.field in self.fields else None
                self.add_error(field, ValidationError(refusal.detail, code=refusal.code))

    Refused.__name__ = Refused.__qualname__ = form_class.__name__
    return Refused


class ActionAdminMixin(SaveRefusedInTheFormMixin):
    """Rows whose writes are actions: the admin's save, its delete page and the bulk "delete
    selected" call them (each audited), never the ORM. Set ``save_action`` and
    ``delete_action`` (``staticmethod``s taking the row, ``actor=`` and ``request=``); fields
    in ``chosen_on_add`` are read-only once the row exists (moving a per-level row to another
    level would put the first back on its defaults with no audited reset: delete it instead).
    A save the action refuses is the form's error (``SaveRefusedInTheFormMixin``)."""

    save_action = None
    delete_action = None
    chosen_on_add: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*self.chosen_on_add, *fields) if obj is not None else fields

    def save_model(self, request, obj, form, change):
        self.save_action(obj, actor=request.user, request=request)

    def delete_model(self, request, obj):
        self.delete_action(obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class KeptInput:
    """What a refused form action on an object's page (``object_url``: it redirects back to
    the change page) keeps of what was typed, for that page to show again: the fields of
    each form, empty by default; kept in the session and read once.

    ``KeptInput("billing_invoice", {"void": {"reason": ""}, "credit": {"line": []}})``: a
    field whose default is a list keeps all its values (checkboxes), others the last one.
    The view calls ``keep(request, obj, "void", refusal)`` when it refuses; the change page
    puts ``read(request, obj)`` in its context (every form and field always there, as
    templates read them) as ``kept``, with ``refused``: the refused form's name, the
    refusal's words and the field it is about (templates/admin/object_action.html shows it
    in that form, and static/edgeplug/admin.js focuses that field), and ``marks``: that
    field's ``aria-invalid`` and ``aria-describedby``, which its template writes into it."""

    def __init__(self, name: str, forms: dict[str, dict[str, str | list]]):
        self.key = f"{name}_kept_input"
        self.forms = forms

    def keep(self, request, obj, form: str, refusal: DomainError) -> None:
        fields = self.forms[form]
        request.session[self.key] = {
            "pk": obj.pk,
            "fields": {name: request.POST.getlist(name) for name in fields},
            "refused": {
                "form": form,
                "detail": refusal.detail,
                "field": refusal.field if refusal.field in fields else "",
            },
        }

    def read(self, request, obj) -> dict:
        forms = {form: dict(fields) for form, fields in self.forms.items()}
        forms["refused"] = {}
        # Per form and field, the attributes marking the refused field in error and described
        # by the refusal (#<form>-refusal) as served: <input … {{ kept.marks.void.reason }}>.
        forms["marks"] = {form: dict.fromkeys(fields, "") for form, fields in self.forms.items()}
        kept = request.session.pop(self.key, None)
        if kept and obj is not None and kept["pk"] == obj.pk and kept["refused"]["form"] in forms:
            forms["refused"] = refused = kept["refused"]
            if refused["field"] in forms["marks"][refused["form"]]:  # names of our own forms
                forms["marks"][refused["form"]][refused["field"]] = mark_safe(  # noqa: S308
                    f'aria-invalid="true" aria-describedby="{refused["form"]}-refusal"'
                )
            form = forms[kept["refused"]["form"]]
            for name, values in kept["fields"].items():
                if isinstance(form[name], list):
                    form[name] = values
                else:
                    form[name] = values[-1] if values else ""
        return forms


class DecidedInAdminMixin(FilterParametersChecked, ReadOnlyAdminMixin):
    """A tenant's work a reviewer approves or rejects with a reason on its change page
    (certification runs, workflow packages): the decision form (templates/admin/decision.html,
    outside the admin's own form) posts to ``<id>/decide/``, which calls ``review_action(obj,
    approve=, reason=, reviewer=, request=)``: the action checks who decides
    (``check_reviewer``) and the reason. Then back to the change page, the change list's
    filters kept (``object_page``), with "<name> approved." or the action's
    refusal as it said it (a 403 audited as a denial: ``own_tenant_review``,
    ``not_a_reviewer``), what was typed kept for the form (``kept``).

    Set ``review_action`` (a ``staticmethod``), ``kept`` (a ``KeptInput`` with a
    ``decision`` form) and, to say why a pending object cannot be decided, ``refusal``. A
    reviewer who belongs to the object's tenant is told so where the form would be
    (``check_reviewer``, as the action says it first), whenever ``says_refusal``."""

    review_action = None
    kept: KeptInput

    @admin.display(description="vendor", ordering="tenant__slug")
    def vendor(self, obj):
        return obj.tenant.slug

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        # The date-time itself: Django prints it with its zone, as on the detail page.
        return obj.created_at

    def refusal(self, obj) -> DomainError | None:
        """Why a reviewer cannot decide ``obj`` now, as the action refuses it (None: the form
        is offered)."""
        return None

    def says_refusal(self, obj) -> bool:
        """Whether the page says that refusal where the form would be (an object still waiting
        for a decision that cannot be made), instead of offering a form every click of which
        is refused."""
        return False

    def reviewer_refusal(self, reviewer, obj) -> str | None:
        """Why ``reviewer`` cannot decide ``obj`` now, in the order the action checks: who
        decides (``check_reviewer``: not a tenant they belong to), then ``refusal``."""
        try:
            check_reviewer(reviewer, obj.tenant)
        except Forbidden as exc:
            return exc.detail
        refused = self.refusal(obj)
        return refused.detail if refused else None

    def get_urls(self):
        return [object_url(self, "decide", self.decide), *super().get_urls()]

    def render_change_form(self, request, context, *args, **kwargs):
        obj = context.get("original")
        reviewer = obj is not None and in_staff_group(request.user, StaffGroup.REVIEWERS)
        refusal = self.reviewer_refusal(request.user, obj) if reviewer else None
        context["can_decide"] = reviewer and refusal is None
        context["decide_refusal"] = refusal if refusal and self.says_refusal(obj) else ""
        context["kept"] = self.kept.read(request, obj)
        if context["can_decide"]:
            context["decide_url"] = object_page(self, request, obj.pk, "decide")
        return super().render_change_form(request, context, *args, **kwargs)

    def decide(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:  # before the lookup: a 404 or a 403 told anyone else which ids exist
            check_is_reviewer(request.user)
        except Forbidden as refusal:
            raise PermissionDenied(refusal) from refusal
        obj = get_object_or_404(self.model, pk=object_id)
        self._decide(request, obj)
        return redirect(object_page(self, request, obj.pk, "change"))

    def _decide(self, request, obj) -> None:
        decision = request.POST.get("decision")
        if decision not in ("approve", "reject"):
            refusal = DomainError("Choose approve or reject.")
            messages.error(request, refusal.detail)
            self.kept.keep(request, obj, "decision", refusal)
            return
        try:
            self.review_action(
                obj,
                approve=decision == "approve",
                reason=request.POST.get("reason", ""),
                reviewer=request.user,
                request=request,
            )
        except DomainError as exc:
            record_if_denied(request, exc)
            messages.error(request, exc.detail)
            self.kept.keep(request, obj, "decision", exc)
        else:
            outcome = "approved" if decision == "approve" else "rejected"
            messages.success(request, f"{self.decision_name(obj)} {outcome}.")

    def decision_name(self, obj) -> str:
        return str(obj)


# An agent version as the site names it: its vendor (optional), its agent, its version.
_VERSION_NAME = re.compile(r"(?:(?P<vendor>[^/\s]+)/)?(?P<agent>[^/@\s]+)@(?P<version>\S+)")


class VersionNameSearchMixin:
    """A list whose rows show an agent version as the site names it (``vendor/agent@1.2.0``,
    as the CLI and the portal name it too) finds the rows of the version searched by that
    name, or by ``agent@1.2.0``: the search fields match one word each, so the name as
    shown found nothing. ``version_lookup`` is the path from the row to its version."""

    version_lookup = "version"

    def get_search_results(self, request, queryset, search_term):
        named = _VERSION_NAME.fullmatch(search_term.strip())
        if named is None:
            return super().get_search_results(request, queryset, search_term)
        version = self.version_lookup
        wanted = {
            f"{version}__agent__name": named["agent"],
            f"{version}__version": named["version"],
        }
        if named["vendor"]:
            wanted[f"{version}__agent__tenant__slug"] = named["vendor"]
        return queryset.filter(**wanted), False
