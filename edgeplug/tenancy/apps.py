"""Tenants (organisations), memberships with roles, and the request scoping helper."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenancyConfig(AppConfig):
    name = "edgeplug.tenancy"
    label = "tenancy"

    def ready(self) -> None:
        from edgeplug.tenancy.staff_groups import sync_staff_groups

        # No sender: each app's permissions appear in its own post_migrate round.
        post_migrate.connect(sync_staff_groups, dispatch_uid="edgeplug.sync_staff_groups")
