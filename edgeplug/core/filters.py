"""Query filters shared by the API's list endpoints."""

import re
from datetime import UTC

import django_filters
import django_filters.rest_framework
from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import JSONField, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters
from rest_framework.mixins import ListModelMixin

from edgeplug.core.forms import StrictBooleanField, TypedDecimalField, TypedWholeNumberField
from edgeplug.errors import BadRequest, UnknownReference
from edgeplug.tenancy.scoping import get_referenced
from edgeplug.text import BLANK_CLASS, BLANKS
from edgeplug.timefmt import parse_utc_iso


class UtcInstantField(forms.Field):
    """An ISO 8601 instant with its UTC offset, read by ``timefmt.parse_utc_iso`` (as the CLI
    and the certificate verifier read one) and given in UTC: a bare date or a time without
    its offset is refused, as the usage door refuses it, not read in the server's time zone.

    ISO 8601 allows offsets up to ±23:59 but PostgreSQL refuses those over ±15:59, so the
    value is converted here; one whose UTC reading is outside years 1 to 9999 is refused
    too, before anything compares or prints it (``since`` after ``until`` is named in UTC)."""

    default_error_messages = {
        "invalid": "Enter an ISO 8601 instant with its UTC offset, e.g. 2026-01-01T00:00:00Z.",
        "out_of_range": "Date-time out of range.",
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            instant = parse_utc_iso(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        try:
            return instant.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(
                self.error_messages["out_of_range"], code="invalid"
            ) from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant with its offset, compared in UTC (``UtcInstantField``)."""

    field_class = UtcInstantField


class _GivenWithAValue:
    """Absent is fine; given, a parameter must carry a value (``?max_ram_kb=`` is a 400, not
    ignored), read by the form field it is mixed into, in ASCII and unpadded as the schema
    publishes it and ``page_size`` is read: Django's number fields strip it and read any
    script's digits (``?max_ram_kb=٣`` filtered by 3)."""

    blank = "Enter a value."

    def clean(self, value):
        if value == "":
            raise forms.ValidationError(self.blank, code="invalid")
        if isinstance(value, str) and not (value.isascii() and value == value.strip()):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().clean(value)


class _NumberIfGiven(_GivenWithAValue, TypedDecimalField):
    """A number as a person types one (``edgeplug.text.ascii_decimal``): ``?max_ram_kb=1e2``
    was read as 100 and ``1_0`` as 10."""

    blank = "Enter a number."
    default_error_messages = {"invalid": blank}


class _IdIfGiven(_GivenWithAValue, TypedWholeNumberField):
    """A whole number: ``?agent=1.5`` is a 400, not agent 1, and ``?agent=1_0`` not agent 10."""

    blank = "Enter a whole number."
    default_error_messages = {"invalid": blank}


# Far above any real figure (KiB, microseconds, ids), far below what a decimal field refuses.
NUMBER_FILTER_MAX = 10**15


def _bounded_filter(field: type[forms.Field], kind: str, minimum, maximum, **kwargs):
    """A numeric query filter read by ``field``, whose bounds are both checked and published
    in the schema as a ``kind`` (number, integer)."""
    schema = {"type": kind, "minimum": minimum, "maximum": maximum}
    declared = type(f"Bounded{field.__name__}Filter", (django_filters.NumberFilter,), {})
    declared.field_class = field
    return extend_schema_field(schema)(declared)(min_value=minimum, max_value=maximum, **kwargs)


def number_filter(*, minimum: float = 0, maximum: float = NUMBER_FILTER_MAX, **kwargs):
    """A numeric query filter, its bounds checked and published."""
    return _bounded_filter(_NumberIfGiven, "number", minimum, maximum, **kwargs)


def id_filter(**kwargs):
    """A query filter naming an object by its id: a whole number from 1, published so."""
    return _bounded_filter(_IdIfGiven, "integer", 1, NUMBER_FILTER_MAX, **kwargs)


class BooleanFilter(django_filters.BooleanFilter):
    """``true``/``false`` (or ``1``/``0``); anything else is a 400 (``StrictBooleanField``)."""

    field_class = StrictBooleanField


class _SlugFilter(django_filters.CharFilter):
    """A parameter naming an object by its short name (``?vendor=acme``): text, but not free
    text, so given empty it is refused as ``?level=`` is, not read as "any"."""


# Something besides blanks, and no NUL (``edgeplug.core.schema.forbid_nul_in_strings``).
_NONBLANK_PATTERN = rf"^[^\u0000]*[^\u0000{BLANK_CLASS}][^\u0000]*$"


def slug_filter(*, label: str, **kwargs):
    """A query filter naming an object by its short name, published as a string that is not
    blank (``_blank``)."""
    schema = {"type": "string", "minLength": 1, "pattern": _NONBLANK_PATTERN, "description": label}
    declared = type("SlugFilter", (_SlugFilter,), {})
    return extend_schema_field(schema)(declared)(label=label, **kwargs)


def _empty_means_any(declared: django_filters.Filter) -> bool:
    """Free text (a search, a licence): given empty, it matches anything."""
    return isinstance(declared, django_filters.CharFilter) and not isinstance(declared, _SlugFilter)


def _blank(given: object) -> bool:
    """Given, but empty or only whitespace (``?vendor=+``, ``edgeplug.text.BLANKS``): what a
    text field strips to nothing, and a filter then ignores, as if the parameter were absent."""
    return isinstance(given, str) and not given.strip(BLANKS)


class FilterSet(django_filters.rest_framework.FilterSet):
    """Every API filter set: a parameter that is given must carry a value (``?level=``,
    ``?vendor=%20`` and ``?since=%20`` are a 400 ``blank``, as the schema says), except
    free-text ones where empty means "any". ``blank`` is all that is said of such a
    parameter: its field's own complaint ("Enter a number.") is about a value not given."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, declared in self.filters.items():
            if _blank(self.data.get(name)) and not _empty_means_any(declared):
                self.form.errors.pop(name, None)
                self.form.add_error(
                    name,
                    forms.ValidationError("Give a value or leave the parameter out.", code="blank"),
                )
                valid = False
        return valid

    def narrowed_to(
        self,
        queryset: QuerySet,
        name: str,
        value: object,
        *,
        visible: QuerySet,
        error: type[UnknownReference],
        lookup: str,
        field: str,
    ) -> QuerySet:
        """For a filter method of a parameter that names another object (``?agent=12``): the
        rows of ``queryset`` whose ``field`` is ``value``, once ``value`` is found by
        ``lookup`` among ``visible`` (the objects the caller may see), else 400
        ``unknown_<thing>`` naming the parameter, as for an id in a body
        (``edgeplug.errors.UnknownReference``)."""
        get_referenced(visible, error, name, value, **{lookup: value})
        return queryset.filter(**{field: value})


class FilterBackend(django_filters.rest_framework.DjangoFilterBackend):
    """DRF's django-filter backend, building filter sets (also from ``filterset_fields``) on
    the strict ``FilterSet`` above."""

    filterset_base = FilterSet


class OrderingFilter(filters.OrderingFilter):
    """``?ordering=`` of a list, over the columns it publishes (the view's
    ``ordering_fields``, else its serializer's fields that are columns of the queryset's
    model), by the names the list's rows give them (``email``, not ``user__email``: an
    ``ordering_fields`` entry ``(column path, name)`` says which; DRF's pair of a field and
    its label), comma-separated, ``-`` for descending. An unknown term is a 400
    ``invalid_ordering`` naming the terms a client may use (DRF dropped it silently), and the
    order always ends on the primary key, in the last term's direction: among rows equal on
    the chosen fields (orders of one amount, agents of one name) a page could otherwise skip a
    row another page repeats. The schema publishes the terms as the parameter's pattern. Only
    a list is ordered: an object's page (``get_object`` filters its queryset too) does not
    publish the parameter, and the API refuses it there before the view (unknown_parameter)."""

    def filter_queryset(self, request, queryset, view):
        if not isinstance(view, ListModelMixin):
            return queryset
        return super().filter_queryset(request, queryset, view)

    def get_ordering(self, request, queryset, view):
        given = request.query_params.get(self.ordering_param)
        if given is None:  # absent; ?ordering= (empty) is refused, as the schema's pattern says
            return self.get_default_ordering(view)
        # Exactly as the schema's pattern publishes it: no empty term, no space around one.
        terms = given.split(",")
        columns = self._columns(queryset, view, request)
        unknown = [term for term in terms if term.removeprefix("-") not in columns]
        if unknown:
            raise BadRequest(
                f"Unknown ordering {', '.join(filter(None, unknown)) or given!r}: order by "
                f"{', '.join(sorted(columns))} (comma-separated, - for descending).",
                code="invalid_ordering",
                field=self.ordering_param,
            )
        paths = [
            ("-" if term.startswith("-") else "") + columns[term.removeprefix("-")]
            for term in terms
        ]
        if not {"pk", "-pk", "id", "-id"} & set(paths):
            paths.append("-pk" if paths[-1].startswith("-") else "pk")
        return paths

    def get_default_valid_fields(self, queryset, view, context=None):
        """(column path, name) of each field of the view's serializer: a client orders by the
        names it reads (DRF pairs a path with the field's label, "Agent name")."""
        serializer = view.get_serializer_class()(context=context or {})
        return [
            (field.source.replace(".", "__") or name, name)
            for name, field in serializer.fields.items()
            if not field.write_only and field.source != "*"
        ]

    def _columns(self, queryset, view, request) -> dict[str, str]:
        """The terms a client may order by, each to the column path it orders."""
        fields = self.get_valid_fields(queryset, view, {"request": request})
        return {name: path for path, name in fields if _is_column(queryset, path)}

    def _terms(self, queryset, view, request) -> list[str]:
        return sorted(self._columns(queryset, view, request))

    def get_schema_operation_parameters(self, view):
        (parameter,) = super().get_schema_operation_parameters(view)
        one = "|".join(re.escape(term) for term in self._terms(view.get_queryset(), view, None))
        parameter["schema"]["pattern"] = f"^-?(?:{one})(?:,-?(?:{one}))*$"
        parameter["description"] = (
            "Order by these fields, comma-separated, - before one for descending (else 400 "
            "invalid_ordering); rows equal on them keep the order of their ids."
        )
        return [parameter]


def _is_column(queryset: QuerySet, path: str) -> bool:
    """Whether ``path`` (``tenant__slug``) names a column the queryset can order by: a field
    of its model, across relations, or one of its annotations; a serializer field whose source
    is a property or a method is not one, nor a JSON document (``details``, a plan's
    ``terms``), whose order means nothing to a reader."""
    if path in queryset.query.annotations:
        return True
    model = queryset.model
    *relations, last = path.split("__")
    try:
        for name in relations:
            model = model._meta.get_field(name).related_model
            if model is None:
                return False
        field = model._meta.get_field(last)
    except FieldDoesNotExist:
        return False
    return field.concrete and not field.many_to_many and not isinstance(field, JSONField)
