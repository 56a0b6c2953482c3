"""Filters of the agent list."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from marketplace.models import Agent, CertificationStatus
from marketplace.visibility import visible_versions


class AgentFilter(django_filters.FilterSet):
    vendor = django_filters.CharFilter(field_name="tenant__slug")
    agent_type = django_filters.CharFilter()
    target_core = django_filters.CharFilter(method="filter_target_core")
    certification_status = django_filters.ChoiceFilter(
        choices=CertificationStatus.choices, method="filter_certification_status"
    )
    search = django_filters.CharFilter(method="filter_search", label="text search")

    class Meta:
        model = Agent
        fields = ["vendor", "agent_type", "target_core", "certification_status", "search"]

    # Version filters look only at the versions this request may see: matching on a hidden
    # version would reveal that it exists.
    def _with_visible_version(self, queryset, **match):
        versions = visible_versions(self.request).filter(agent=OuterRef("pk"), **match)
        return queryset.filter(Exists(versions))

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
