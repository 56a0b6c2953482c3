"""Filters of the agent list: registry filters, and catalogue filters read from the
certificate of each agent's newest public version (not the vendor's claims)."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from certification.models import Level
from edgeplug.core.filters import BooleanFilter, FilterSet, number_filter, slug_filter
from edgeplug.errors import BadRequest
from edgeplug.slugs import slug_as_typed
from marketplace import catalogue
from marketplace.errors import UnknownVendor
from marketplace.models import Agent, CertificationStatus, PlanKind
from marketplace.packageformat.schema import target_cores
from marketplace.visibility import visible_versions

# The most CatalogueListing.latency_worst_us (a PositiveIntegerField) holds.
_LATENCY_US_MAX = 2**31 - 1
# The cores a package may target (the manifest schema's): another is 400 invalid_choice, as
# a device registered with one is refused (``invalid_core``).
_CORES = [(core, core) for core in target_cores()]


class AgentFilter(FilterSet):
    vendor = slug_filter(
        method="filter_vendor",
        label="short name (slug) of a vendor you can see, any case (else 400 unknown_vendor)",
    )
    agent_type = django_filters.CharFilter(lookup_expr="iexact", label="agent type, any case")
    target_core = django_filters.ChoiceFilter(choices=_CORES, method="filter_target_core")
    certification_status = django_filters.ChoiceFilter(
        choices=CertificationStatus.choices, method="filter_certification_status"
    )
    search = django_filters.CharFilter(method="filter_search", label="text search")
    q = django_filters.CharFilter(method="filter_q", label="full-text search, typo tolerant")
    core = django_filters.ChoiceFilter(
        field_name="listing__core", choices=_CORES, label="certified target core"
    )
    level = django_filters.ChoiceFilter(field_name="listing__level", choices=Level.choices)
    license = django_filters.CharFilter(
        field_name="listing__license", lookup_expr="iexact", label="SPDX id, any case"
    )
    max_ram_kb = number_filter(method="filter_max_ram_kb")
    max_flash_kb = number_filter(method="filter_max_flash_kb")
    max_latency_us = number_filter(method="filter_max_latency_us")
    price_model = django_filters.ChoiceFilter(choices=PlanKind.choices, method="filter_price")
    min_rating = number_filter(
        minimum=1, maximum=5, field_name="listing__rating_average", lookup_expr="gte"
    )
    free = BooleanFilter(field_name="listing__has_free")
    sort = django_filters.ChoiceFilter(
        choices=[(name, name) for name in catalogue.SORTS],
        method="filter_sort",
        label="order of the results (relevance only with q; not with ordering: else 400 "
        "invalid_ordering)",
    )

    class Meta:
        model = Agent
        fields = ["vendor", "agent_type", "target_core", "certification_status", "search"]

    # Version filters look only at the versions this request may see: matching on a hidden
    # version would reveal that it exists.
    def _with_visible_version(self, queryset, **match):
        versions = visible_versions(self.request).filter(agent=OuterRef("pk"), **match)
        return queryset.filter(Exists(versions))

    def filter_vendor(self, queryset, name, value):
        # A vendor with an agent the caller may see; 400 unknown_vendor otherwise.
        return self.narrowed_to(
            queryset,
            name,
            slug_as_typed(value),
            visible=visible_versions(self.request),
            error=UnknownVendor,
            lookup="agent__tenant__slug",
            field="tenant__slug",
        )

    def filter_target_core(self, queryset, name, value):
        return self._with_visible_version(queryset, target_core=value)

    def filter_certification_status(self, queryset, name, value):
        return self._with_visible_version(queryset, certification_status=value)

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(agent_type__icontains=value)
        )

    def filter_q(self, queryset, name, value):
        return catalogue.search(queryset, value)

    def filter_max_ram_kb(self, queryset, name, value):
        return queryset.filter(listing__arena_bytes__lte=int(value * 1024))

    def filter_max_flash_kb(self, queryset, name, value):
        return queryset.filter(listing__model_bytes__lte=int(value * 1024))

    def filter_max_latency_us(self, queryset, name, value):
        # The column holds 32-bit integers: Django drops a bound past them (the filter takes
        # up to NUMBER_FILTER_MAX) as always true, which listed unmeasured agents too.
        return queryset.filter(listing__latency_worst_us__lte=min(value, _LATENCY_US_MAX))

    def filter_price(self, queryset, name, value):
        return queryset.filter(**{f"listing__{catalogue.PRICE_MODELS[value]}": True})

    def filter_sort(self, queryset, name, value):
        # Either would leave the list in another order than the one asked for, with a 200.
        if self.request is not None and "ordering" in self.request.query_params:
            raise BadRequest(
                "Give sort or ordering, not both: ordering (by a column) would replace sort.",
                code="invalid_ordering",
                field="sort",
            )
        if value == "relevance" and not self.form.cleaned_data.get("q"):
            raise BadRequest(
                "sort=relevance ranks the results of a search: give q too, or another sort.",
                code="invalid_ordering",
                field="sort",
            )
        if value == "relevance" and "relevance" not in queryset.query.annotations:
            return queryset  # SQLite's search matches substrings: nothing to rank by
        return queryset.order_by(*catalogue.SORTS[value])

    @property
    def qs(self):
        queryset = super().qs
        # Full-text results come most relevant first unless another sort was asked for.
        if self.form.cleaned_data.get("q") and not self.form.cleaned_data.get("sort"):
            queryset = queryset.order_by(*catalogue.SORTS["relevance"])
        return queryset
