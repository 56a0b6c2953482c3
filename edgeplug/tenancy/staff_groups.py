"""The platform staff groups and the admin permissions each holds.

Migrations create them once; ``sync_staff_groups`` runs after every ``migrate`` (and every
``flush``, which emits the same signal) so the groups and their grants are always there,
whichever apps' permissions were just created. Adding a grant here is all it takes.
"""

from django.db import DEFAULT_DB_ALIAS

from edgeplug.tenancy.models import StaffGroup

_RUNS = ["view_certificationrun", "view_certificationresult", "view_certificate"]
_SECURITY = ["view_advisory", "view_advisoryimport", "view_scanfinding"]

STAFF_GROUP_PERMISSIONS: dict[str, dict[str, list[str]]] = {
    StaffGroup.REVIEWERS: {
        "certification": [
            *_RUNS,
            *_SECURITY,
            "view_levelthresholds",
            "view_securitypolicyoverride",
        ],
        "marketplace": ["view_review", "change_review", "view_workflowpackage"],
    },
    StaffGroup.FINANCE: {
        "marketplace": ["view_order", "refund_order", "view_entitlement", "view_priceplan"],
        "billing": [
            "view_invoice",
            "finalize_invoice",
            "void_invoice",
            "credit_invoice",
            "adjust_invoice",
            "collect_invoice",
            "view_invoiceline",
            "view_billingaccount",
            "view_moneytogiveback",
        ],
    },
    StaffGroup.PLATFORM_ADMINS: {
        "certification": [
            *_RUNS,
            *_SECURITY,
            "view_levelthresholds",
            "add_levelthresholds",
            "change_levelthresholds",
            "view_securitypolicyoverride",
            "add_securitypolicyoverride",
            "change_securitypolicyoverride",
            "delete_securitypolicyoverride",
        ],
    },
}


def sync_staff_groups(using=DEFAULT_DB_ALIAS, apps=None, **kwargs) -> None:
    """Create the staff groups and add the grants whose permissions exist (idempotent)."""
    if apps is None:
        from django.apps import apps
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:  # auth not migrated yet in this plan
        return
    for name, grants in STAFF_GROUP_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        for app_label, codenames in grants.items():
            group.permissions.add(
                *Permission.objects.using(using).filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )
