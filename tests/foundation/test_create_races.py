"""A row that must be new, created by several requests at once: the unique constraint decides,
and every loser gets the action's conflict error, never a database error."""

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError

import edgeplug.tenancy.admin as tenancy_admin
from edgeplug.accounts.models import DUPLICATE_EMAIL, User
from edgeplug.audit.models import AuditEvent
from edgeplug.core.locking import unique_or
from edgeplug.errors import Conflict
from edgeplug.tenancy.models import Tenant
from edgeplug.tenancy.services import create_tenant
from tests.concurrency import race
from tests.conftest import changeform_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
ADD = "/admin/accounts/user/add/"


def test_the_same_tenant_created_four_times_at_once_lands_once_and_the_rest_conflict():
    def create(n: int) -> str:
        try:
            create_tenant(name=f"Acme {n}", slug="acme")
        except Conflict as exc:
            return exc.code
        return "created"

    outcomes = race(create, range(4))

    assert sorted(outcomes) == ["created", "tenant_exists", "tenant_exists", "tenant_exists"]
    assert Tenant.objects.filter(slug="acme").count() == 1


def test_a_conflict_rolls_back_only_its_own_block():
    create_tenant(name="Acme", slug="acme")
    with pytest.raises(Conflict) as raised:
        create_tenant(name="Acme again", slug="acme")
    assert raised.value.code == "tenant_exists"
    assert "acme" in str(raised.value)
    create_tenant(name="Beta", slug="beta")  # the connection is still usable
    assert sorted(Tenant.objects.values_list("slug", flat=True)) == ["acme", "beta"]


def test_only_a_broken_unique_constraint_becomes_the_conflict():
    neither = Tenant(name="Neither", slug="neither", is_vendor=False, is_customer=False)
    conflict = Conflict("exists", code="tenant_exists")
    # A check constraint broken is a bug, not "it exists": raised as it is.
    with pytest.raises(IntegrityError), unique_or(conflict):
        neither.save()


def test_the_same_user_added_four_times_at_once_is_one_account_and_three_command_errors():
    """adduser looked before it inserted, and all four looked at once: the losers met the
    constraint as an IntegrityError traceback."""

    def add(n: int) -> str:
        email = f"{'Bob' if n % 2 else 'bob'}@example.com"
        try:
            call_command("adduser", email, "--password", "a-long-password-1")
        except CommandError as exc:
            assert "email_taken: A user with email bob@example.com exists." in str(exc)
            return "refused"
        return "created"

    outcomes = race(add, range(4))

    assert sorted(outcomes) == ["created", "refused", "refused", "refused"]
    assert User.objects.get().email == "bob@example.com"


def test_a_user_added_meanwhile_is_the_admin_add_page_s_error_beside_the_email(
    admin_session, monkeypatch
):
    """Added by someone else between the form's checks and its save: the constraint decides,
    and the page is the form again with the email refused (it was a 500)."""
    client, _ = admin_session("platform-admins", is_superuser=True)
    save = User.save
    meanwhile: list[str] = []

    def added_elsewhere_then_saved(user, *args, **kwargs):
        if not meanwhile:  # another request, committed just before this one's insert
            meanwhile.append("bob@example.com")
            race(lambda email: UserFactory(email=email), meanwhile)
        save(user, *args, **kwargs)

    monkeypatch.setattr(User, "save", added_elsewhere_then_saved)
    data = changeform_data(client.get(ADD))
    data.update({"email": "Bob@example.com", "password1": "a-long-password-1"})
    data["password2"] = data["password1"]
    response = client.post(ADD, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == [DUPLICATE_EMAIL]
    assert User.objects.filter(email="bob@example.com").count() == 1
    assert not AuditEvent.objects.filter(action="user_created").exists()


TENANT_ADD = "/admin/tenancy/tenant/add/"


def _tenant_add_data(client, **fields) -> dict:
    data = changeform_data(client.get(TENANT_ADD))
    data.update({"is_customer": "on", "is_active": "on", **fields})
    return data


def test_a_tenant_added_meanwhile_is_the_admin_add_page_s_error_beside_the_slug(
    admin_session, monkeypatch
):
    """A second Save of the add form sent before the first was done (a double-click, a busy
    server): the first request's tenant committed between this one's checks and its save. The
    page is the form again with the slug refused (it was a 500), nothing of this one kept."""
    client, _ = admin_session("platform-admins", is_superuser=True)
    creating = tenancy_admin.create_tenant
    meanwhile: list[str] = []

    def added_elsewhere_then_created(**fields):
        if not meanwhile:  # the first Save, committed just before this one's insert
            meanwhile.append(fields["slug"])
            race(lambda slug: create_tenant(name="Nordic Pumps", slug=slug), meanwhile)
        return creating(**fields)

    monkeypatch.setattr(tenancy_admin, "create_tenant", added_elsewhere_then_created)
    data = _tenant_add_data(client, name="Nordic Pumps (again)", slug="nordic-pumps")
    response = client.post(TENANT_ADD, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["slug"]
    assert Tenant.objects.get(slug="nordic-pumps").name == "Nordic Pumps"
    assert AuditEvent.objects.filter(action="tenant_created").count() == 1


def test_a_refusal_the_add_form_does_not_check_is_said_on_the_form(admin_session, monkeypatch):
    """What only the action refuses, met by the save, is the form's error where it is about
    (its ``field``), else above the form; the form keeps what was typed."""
    client, _ = admin_session("platform-admins", is_superuser=True)

    def refused(**fields):
        Tenant.objects.create(name=fields["name"], slug=fields["slug"])  # rolled back
        raise Conflict("The vendor register is closed for today.", code="register_closed")

    monkeypatch.setattr(tenancy_admin, "create_tenant", refused)
    data = _tenant_add_data(client, name="Nordic Pumps", slug="nordic-pumps")
    response = client.post(TENANT_ADD, data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.non_field_errors() == ["The vendor register is closed for today."]
    assert form["slug"].value() == "nordic-pumps"
    assert not Tenant.objects.exists()
