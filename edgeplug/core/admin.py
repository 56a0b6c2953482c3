"""Admin building blocks shared by every app."""

from django.urls import URLPattern, path


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


class ReadOnlyAdminMixin:
    """Records written only by the system (audit events, runs, certificates): staff read
    them in the admin, nobody adds, edits or deletes them there."""

    def has_add_permission(self, request, obj=None):  # inlines pass the parent object
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
