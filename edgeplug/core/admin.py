"""Admin building blocks shared by every app."""


class ReadOnlyAdminMixin:
    """Records written only by the system (audit events, runs, certificates): staff read
    them in the admin, nobody adds, edits or deletes them there."""

    def has_add_permission(self, request, obj=None):  # inlines pass the parent object
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
