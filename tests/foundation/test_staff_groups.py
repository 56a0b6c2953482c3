"""The staff groups and their admin grants survive a flush (post_migrate re-creates them)."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from edgeplug.tenancy.staff_groups import STAFF_GROUP_PERMISSIONS


def _grants() -> dict[str, set[str]]:
    return {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.prefetch_related("permissions")
    }


@pytest.mark.django_db(transaction=True)
def test_groups_and_grants_exist_after_migrate_and_after_flush():
    expected = {
        name: {codename for codenames in grants.values() for codename in codenames}
        for name, grants in STAFF_GROUP_PERMISSIONS.items()
    }
    assert _grants() == expected
    assert "view_certificationrun" in expected["reviewers"]
    assert "change_levelthresholds" not in expected["reviewers"]

    call_command("flush", interactive=False, verbosity=0)
    assert _grants() == expected
