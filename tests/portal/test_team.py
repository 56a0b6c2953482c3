"""The team page: admins add members, change roles and remove them through the tenancy
actions; the last admin stays."""

import pytest

from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Membership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_adds_a_member_by_email(portal_vendor):
    admin = portal_vendor("admin")
    newcomer = UserFactory(email="dev@acme.example")
    page = admin.client.post(
        "/portal/team/", {"email": "DEV@acme.example", "role": "developer"}, follow=True
    )
    assert "dev@acme.example joined as developer" in page.content.decode()
    assert Membership.objects.get(user=newcomer, tenant=admin.tenant).role == "developer"
    assert AuditEvent.objects.filter(action="membership_created", target=newcomer.email).exists()


def test_an_internationalised_email_sent_in_punycode_adds_its_account(portal_vendor):
    """A browser's email field sends ``bücher.example`` as ``xn--bcher-kva.example``."""
    admin = portal_vendor("admin")
    linus = UserFactory(email="linus@bücher.example")
    page = admin.client.post(
        "/portal/team/",
        {"email": "linus@xn--bcher-kva.example", "role": "developer"},
        follow=True,
    )
    assert "linus@bücher.example joined as developer" in page.content.decode()
    assert Membership.objects.filter(user=linus, tenant=admin.tenant).exists()


def test_adding_an_unknown_email_or_a_member_twice_is_explained(portal_vendor):
    admin = portal_vendor("admin")
    unknown = admin.client.post("/portal/team/", {"email": "nobody@x.example", "role": "operator"})
    assert unknown.status_code == 400 and "unknown_user" in unknown.content.decode()
    again = admin.client.post("/portal/team/", {"email": admin.user.email, "role": "operator"})
    assert again.status_code == 409 and "already_member" in again.content.decode()
    # The vendor as the page names it, not its slug.
    assert f"is already a member of {admin.tenant.name}." in again.content.decode()


def test_admin_changes_a_role_and_removes_a_member(portal_vendor):
    admin = portal_vendor("admin")
    member = MembershipFactory(tenant=admin.tenant, role="developer")
    admin.client.post(f"/portal/team/{member.pk}/role/", {f"m{member.pk}-role": "billing"})
    member.refresh_from_db()
    assert member.role == "billing"
    admin.client.post(f"/portal/team/{member.pk}/remove/")
    assert not Membership.objects.filter(pk=member.pk).exists()


@pytest.mark.parametrize(
    "role, said",
    [
        ("developer", "{email} is already developer: nothing changed."),
        ("owner", "Select a valid choice. owner is not one of the available choices."),
    ],
)
def test_a_role_that_changes_nothing_is_said(portal_vendor, role, said):
    """The role the member has (it said "is now developer"), or one that does not exist."""
    admin = portal_vendor("admin")
    member = MembershipFactory(tenant=admin.tenant, role="developer")
    page = admin.client.post(
        f"/portal/team/{member.pk}/role/", {f"m{member.pk}-role": role}, follow=True
    )
    messages = [str(m) for m in page.context["messages"]]
    assert messages == [said.format(email=member.user.email)]
    member.refresh_from_db()
    assert member.role == "developer"
    assert not AuditEvent.objects.filter(action="role_changed").exists()


def test_the_last_admin_cannot_step_down(portal_vendor):
    """Said at their role, the team page answering 409 with the role as chosen; it was a
    flash over the page after a redirect, the role unmarked."""
    admin = portal_vendor("admin")
    me = admin.membership
    page = admin.client.post(f"/portal/team/{me.pk}/role/", {f"m{me.pk}-role": "developer"})
    assert page.status_code == 409
    [(_, refused)] = [(m, f) for m, f in page.context["members"] if m.pk == me.pk]
    assert refused.errors["role"] == [
        f"last_admin: {admin.tenant.name} must keep at least one admin."
    ]
    assert refused["role"].value() == "developer"
    me.refresh_from_db()
    assert me.role == "admin"


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "role/", {"role": "billing"}),
        ("get", "remove/", {}),
        ("post", "remove/", {}),
    ],
)
def test_a_member_already_removed_is_said_with_the_way_back(portal_vendor, method, path, data):
    """A team page left open in another tab, the member removed meanwhile: still a 404 (the
    same for another vendor's member), but saying what happened and leading back to the team,
    where it was the portal's bare "Page not found"."""
    admin = portal_vendor("admin")
    member = MembershipFactory(tenant=admin.tenant, role="developer")
    admin.client.post(f"/portal/team/{member.pk}/remove/")
    data = {f"m{member.pk}-{name}": value for name, value in data.items()}
    response = getattr(admin.client, method)(f"/portal/team/{member.pk}/{path}", data)
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>No such member</h1>" in html
    assert "removed in another tab or by another admin" in html
    assert 'href="/portal/team/"' in html


def test_the_only_admin_is_not_offered_a_removal_that_would_be_refused(portal_vendor):
    admin = portal_vendor("admin")
    member = MembershipFactory(tenant=admin.tenant, role="developer")
    html = admin.client.get("/portal/team/").content.decode()
    assert f"/portal/team/{admin.membership.pk}/remove/" not in html
    assert f"/portal/team/{member.pk}/remove/" in html
    assert "the only admin" in html
    MembershipFactory(tenant=admin.tenant, role="admin")
    html = admin.client.get("/portal/team/").content.decode()
    assert f"/portal/team/{admin.membership.pk}/remove/" in html


def test_the_only_admins_removal_page_says_why_it_cannot_be_done(portal_vendor):
    """Its address opened all the same (a bookmark, the back button): the page says what to
    do first instead of offering a removal the action refuses (last_admin)."""
    admin = portal_vendor("admin")
    page = admin.client.get(f"/portal/team/{admin.membership.pk}/remove/").content.decode()
    assert "is the team's only admin" in page
    assert "Make another member an admin first" in page
    assert "Yes, remove" not in page


def test_adding_a_deactivated_account_is_refused_on_the_page(portal_vendor):
    admin = portal_vendor("admin")
    UserFactory(email="left@acme.example", is_active=False)
    page = admin.client.post("/portal/team/", {"email": "left@acme.example", "role": "developer"})
    assert page.status_code == 409
    html = page.content.decode()
    assert "account_deactivated" in html and "cannot sign in" in html
    assert not Membership.objects.filter(user__email="left@acme.example").exists()


def test_a_deactivated_member_is_not_made_admin_at_the_api_nor_on_the_page(
    portal_vendor, member_client
):
    """It cannot sign in, so it is no admin (``_admins``), and reactivated it would be one
    no current admin chose: refused (409 account_deactivated at the role) where the page said
    "… is now admin." Another role is still given, as a removal is."""
    admin = portal_vendor("admin")
    gone = MembershipFactory(
        tenant=admin.tenant, role="developer", user=UserFactory(is_active=False)
    )
    api, _ = member_client("admin", tenant=admin.tenant)

    by_api = api.patch(f"/api/v1/tenant/members/{gone.pk}", {"role": "admin"}, format="json")
    page = admin.client.post(f"/portal/team/{gone.pk}/role/", {f"m{gone.pk}-role": "admin"})

    assert (by_api.status_code, by_api.json()["code"], by_api.json()["field"]) == (
        409,
        "account_deactivated",
        "role",
    )
    assert "cannot sign in: it can be made an admin once" in by_api.json()["detail"]
    assert page.status_code == 409
    [(_, refused)] = [(m, f) for m, f in page.context["members"] if m.pk == gone.pk]
    assert refused.errors["role"] == [f"account_deactivated: {by_api.json()['detail']}"]
    gone.refresh_from_db()
    assert gone.role == "developer"
    assert not AuditEvent.objects.filter(action="role_changed").exists()
    operator = api.patch(f"/api/v1/tenant/members/{gone.pk}", {"role": "operator"}, format="json")
    assert operator.status_code == 200
