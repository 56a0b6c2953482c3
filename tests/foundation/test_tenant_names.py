"""A tenant's name is what others read of it (the vendor's name in the catalogue, the
reviewer's under a review, the payee on a payout statement): one rule
(``checked_tenant_name``) wherever a tenant is made or renamed, in ``create_tenant`` and
``update_tenant`` themselves, which the command, the admin's forms and the demo seed call."""

import re

import pytest
from django.core.management import CommandError, call_command

from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Tenant
from edgeplug.tenancy.services import InvalidTenantName, create_tenant, update_tenant
from tests.conftest import changeform_data
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

# Shown otherwise than written: in another order, as a blank, or with a terminal's escape.
UNREADABLE = [
    pytest.param("Acme \u202esrosneS", "bidirectional control U\\+202E", id="bidi"),
    pytest.param("\u200b\u2060", "A tenant needs a name", id="invisible"),
    # Default-ignorable but no format characters: Hangul fillers, a grapheme joiner.
    pytest.param("\u3164\u115f\u034f", "A tenant needs a name", id="fillers"),
    pytest.param("Acme\x1b[2J", "control character U\\+001B", id="escape"),
    pytest.param("Acme\x9b2J", "control character U\\+009B", id="csi"),
]
ADD = "/admin/tenancy/tenant/add/"


@pytest.fixture
def platform_admin(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    return client


def _name_errors(response) -> str:
    assert response.status_code == 200, "the form again, with its errors"
    return " ".join(response.context["adminform"].form.errors.get("name", []))


@pytest.mark.parametrize(
    ("name", "said"),
    [
        *UNREADABLE,
        pytest.param("  \t ", "A tenant needs a name", id="blank"),
        pytest.param(" " + "x" * 201, "to 200 characters \\(201 given\\)", id="201"),
    ],
)
def test_the_action_and_the_command_refuse_a_name_with_its_code(name, said):
    with pytest.raises(InvalidTenantName, match=said) as refused:
        create_tenant(name=name, slug="acme")
    assert (refused.value.status, refused.value.field) == (400, "name")
    with pytest.raises(CommandError, match=f"invalid_tenant_name: .*{said}"):
        call_command("createtenant", "acme", "--name", name)
    assert not Tenant.objects.exists()
    assert not AuditEvent.objects.filter(action="tenant_created").exists()


def test_a_name_is_kept_without_the_blanks_around_it():
    tenant = create_tenant(name="  Acme Sensors\n", slug="acme")
    assert tenant.name == "Acme Sensors"
    # The same name padded is no change: nothing written, nothing audited.
    update_tenant(tenant, {"name": " Acme Sensors "})
    assert not AuditEvent.objects.filter(action="tenant_changed").exists()


@pytest.mark.parametrize(("name", "said"), UNREADABLE)
def test_the_admin_refuses_it_at_the_name_when_adding_or_renaming(platform_admin, name, said):
    data = changeform_data(platform_admin.get(ADD))
    data.update({"name": name, "slug": "acme", "is_customer": "on"})
    data["memberships-TOTAL_FORMS"] = "0"
    assert re.search(said, _name_errors(platform_admin.post(ADD, data)))
    assert not Tenant.objects.exists()

    tenant = TenantFactory(name="Acme", slug="acme")
    url = f"/admin/tenancy/tenant/{tenant.pk}/change/"
    data = changeform_data(platform_admin.get(url))
    data["name"] = name
    assert _name_errors(platform_admin.post(url, data))
    tenant.refresh_from_db()
    assert tenant.name == "Acme"
    assert not AuditEvent.objects.filter(action="tenant_changed").exists()


@pytest.mark.parametrize(
    "made_before_the_rules",
    [pytest.param({"name": "Acme \u202e"}, id="name"), pytest.param({"slug": "Acme_S"}, id="slug")],
)
def test_a_tenant_made_before_the_rules_can_still_be_edited(platform_admin, made_before_the_rules):
    """As the admin once allowed: its name and slug are kept as stored while unchanged, so
    the tenant may still be deactivated."""
    tenant = TenantFactory(**{"name": "Acme", "slug": "acme", **made_before_the_rules})
    url = f"/admin/tenancy/tenant/{tenant.pk}/change/"
    data = changeform_data(platform_admin.get(url))
    data["is_active"] = ""
    response = platform_admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    tenant.refresh_from_db()
    assert not tenant.is_active
    assert made_before_the_rules.items() <= {"name": tenant.name, "slug": tenant.slug}.items()
