"""createtenant, adduser and seed_demo, as an operator would run them."""

import json

import pytest
from django.core.management import CommandError, call_command

from edgeplug.accounts.models import User
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["adduser", "x@example.com", "--tenant", "nope", "--role", "admin"], "No tenant"),
        (["adduser", "x@example.com", "--tenant", "nope"], "go together"),
        (["createtenant", "dup"], "tenant_exists"),
    ],
)
def test_commands_fail_clearly(args, message):
    Tenant.objects.create(slug="dup", name="dup")
    with pytest.raises(CommandError, match=message):
        call_command(*args)


def test_seed_demo_is_rerunnable_and_prints_working_credentials(api, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo")
    call_command("seed_demo")
    creds = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert {c["email"].split("@")[0] for c in creds} == {
        "vendor",
        "customer",
        "reviewer",
        "finance",
    }
    vendor = next(c for c in creds if c["email"].startswith("vendor"))
    response = api.post(
        "/api/v1/auth/token",
        {"email": vendor["email"], "password": vendor["password"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    assert Tenant.objects.filter(slug__in=["acme-sensors", "globex-factory"]).count() == 2
