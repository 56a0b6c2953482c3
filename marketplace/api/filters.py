"""Filters of the agent list."""

import django_filters
from django.db.models import Q

from marketplace.models import Agent, CertificationStatus


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

    def filter_target_core(self, queryset, name, value):
        return queryset.filter(versions__target_core=value).distinct()

    def filter_certification_status(self, queryset, name, value):
        return queryset.filter(versions__certification_status=value).distinct()

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(agent_type__icontains=value)
        )
