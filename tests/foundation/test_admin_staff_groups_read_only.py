"""The staff groups are read-only in the admin, for superusers too: the code defines them and
their permissions (edgeplug.tenancy.staff_groups) and powers are looked up by group name, so
a group's permissions changed, or the group renamed or deleted there, would change every
member's powers with no audit. Who is in a group is set on the user's page (audited)."""

import pytest
from django.contrib.auth.models import Group, Permission

from tests.conftest import delete_one_then_in_bulk
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GROUPS = "/admin/auth/group/"


def _grants(group: Group) -> set[str]:
    return set(group.permissions.values_list("codename", flat=True))


def test_a_superuser_reads_a_group_but_cannot_change_its_permissions_or_name(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    finance = Group.objects.get(name="finance")
    before = _grants(finance)
    change_user = Permission.objects.get(content_type__app_label="accounts", codename="change_user")

    page = client.get(f"{GROUPS}{finance.pk}/change/")
    changed = client.post(
        f"{GROUPS}{finance.pk}/change/",
        {
            "name": "finance-renamed",
            "permissions": [*finance.permissions.values_list("pk", flat=True), change_user.pk],
        },
    )

    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # view only
    text = page.content.decode()
    assert "defined in code (edgeplug.tenancy.staff_groups)" in text
    assert "Who is in a group is set on each user's page" in text
    assert "Can refund an order in full (finance) (marketplace.refund_order)" in text
    assert changed.status_code == 403
    finance.refresh_from_db()
    assert (finance.name, _grants(finance)) == ("finance", before)
    assert client.get(f"{GROUPS}add/").status_code == 403


def test_a_staff_group_cannot_be_deleted_from_its_page_or_in_bulk(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    reviewer = UserFactory(is_staff=True)
    reviewers, finance = Group.objects.get(name="reviewers"), Group.objects.get(name="finance")
    reviewer.groups.add(reviewers)

    listing = client.get(GROUPS)
    codes = delete_one_then_in_bulk(client, GROUPS, reviewers.pk, finance.pk)

    assert listing.status_code == 200 and listing.context["action_form"] is None
    assert codes == (403, 200)  # the bulk one: the list again, no action offered
    assert set(Group.objects.values_list("name", flat=True)) >= {"reviewers", "finance"}
    assert list(reviewer.groups.values_list("name", flat=True)) == ["reviewers"]
