"""createtenant and adduser, as an operator would run them (seed_demo: tests/commerce)."""

import pytest
from django.core.management import CommandError, call_command

from edgeplug.accounts.models import User
from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Membership, Tenant

pytestmark = pytest.mark.django_db


def test_createtenant_and_adduser(capsys):
    call_command("createtenant", "acme", "--name", "Acme", "--vendor")
    call_command("adduser", "dev@acme.example", "--tenant", "acme", "--role", "developer")
    out = capsys.readouterr().out
    assert "Created tenant acme (vendor)" in out
    assert "Password: " in out
    tenant = Tenant.objects.get(slug="acme")
    assert tenant.is_vendor and not tenant.is_customer
    assert Membership.objects.get(user__email="dev@acme.example").role == "developer"


def test_arguments_are_read_as_the_admin_s_forms_read_them():
    """Without the blanks around them: a padded email made its user before field_argument
    and was refused by it; a slug too long was blamed on a --name never given."""
    call_command("adduser", " Padded@Example.com ", "--password", "a-long-password-1")
    assert User.objects.filter(email="padded@example.com").exists()
    with pytest.raises(CommandError, match="invalid_slug"):
        call_command("createtenant", "a" * 201)
    with pytest.raises(CommandError, match="invalid_tenant_name: A tenant needs a name"):
        call_command("createtenant", "acme", "--name", "   ")
    assert not Tenant.objects.exists()


def test_adduser_finds_its_tenant_by_slug_in_any_case_as_every_other_door_does():
    """Sign-in (``tenant``), the portal's vendor field and ``?vendor=`` read a slug as a person
    types it (``slug_as_typed``); adduser said "No tenant called 'Acme'" beside acme."""
    call_command("createtenant", "acme", "--name", "Acme")
    call_command(
        "adduser",
        "dev@acme.example",
        "--tenant",
        " Acme ",
        "--role",
        "developer",
        "--password",
        "a-long-password-1",
    )
    membership = Membership.objects.get(user__email="dev@acme.example")
    assert (membership.tenant.slug, membership.role) == ("acme", "developer")


def test_adduser_staff_group():
    call_command(
        "adduser",
        "rev@edgeplug.example",
        "--staff-group",
        "reviewers",
        "--password",
        "a-long-password-1",
    )
    user = User.objects.get(email="rev@edgeplug.example")
    assert user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["reviewers"]
    # Audited as the admin's add page audits it: who was made, with what powers; no actor.
    [event] = AuditEvent.objects.filter(action="user_created")
    assert (event.actor, event.target) == (None, "rev@edgeplug.example")
    assert event.details["access"]["groups"] == ["reviewers"]
    assert event.details["access"]["is_staff"] is True
    assert "password" not in str(event.details)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["adduser", "x@example.com", "--tenant", "nope", "--role", "admin"], "No tenant"),
        (["adduser", "x@example.com", "--tenant", "nope"], "go together"),
        (["createtenant", "dup"], "tenant_exists"),
        # The password policy of the admin's and the portal's forms (AUTH_PASSWORD_VALIDATORS).
        (["adduser", "x@example.com", "--password", "123"], "Password refused: .*too short"),
        (["adduser", "x@example.com", "--password", "x@example.com"], "too similar"),
        # Typed empty: refused, not replaced by a password generated and never printed.
        (["adduser", "x@example.com", "--password", ""], "Password refused: .*too short"),
        # "" is no path: it read (imported our own test fixtures) or wrote the current directory.
        (["import_osv", ""], "argument path: is empty"),
        (["example_agent", ""], "argument directory: is empty"),
        # Checked before anything runs: gunicorn took 0 workers and answered nothing, while
        # runstack said the service was running.
        (["runstack", "--workers", "0"], "--workers: '0' is not a whole number of at least 1"),
        (["runstack", "--port", "70000"], "--port: '70000' is not a whole number from 1 to"),
        (["runstack", "--grpc-address", "127.0.0.1:-1"], "--grpc-address 127.0.0.1:-1: give"),
        # What the admin's forms refuse for the field (a found review: ValueError, a user
        # whose email is no address, a DataError past the column).
        (["adduser", "", "--password", "a-long-password-1"], "EMAIL: This field cannot be"),
        (["adduser", "not an email", "--password", "a-long-password-1"], "EMAIL: Enter a valid"),
        (
            ["adduser", "x@example.com", "--password", "a-long-password-1", "--name", "x" * 201],
            "--name: Ensure this value has at most 200 characters",
        ),
        (["createtenant", "acme", "--name", "x" * 201], "invalid_tenant_name: .* 200 characters"),
        (["unlock_account", ""], "EMAIL: give the account's email address"),
        (["unlock_account", "x@example.com", "--address", "not-an-ip"], "not an IPv4 or IPv6"),
    ],
)
def test_commands_fail_clearly(args, message):
    Tenant.objects.create(slug="dup", name="dup")
    with pytest.raises(CommandError, match=message):
        call_command(*args)
    assert not User.objects.filter(email="x@example.com").exists()
    assert not User.objects.filter(email="not an email").exists()
    assert not Tenant.objects.filter(slug="acme").exists()
    assert not AuditEvent.objects.filter(action="user_created").exists()
