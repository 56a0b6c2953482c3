"""Tenants (organisations), memberships with roles, and the request scoping helper."""

from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "edgeplug.tenancy"
    label = "tenancy"
