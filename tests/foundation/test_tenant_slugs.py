"""A tenant's slug follows the rule of a package manifest's ``vendor`` at every door that makes
or renames a tenant (the command, the admin's add and change forms), so every vendor can
name itself in the packages it uploads. A tenant made before the rule: test_tenant_names.py."""

import pytest
from django.core.management import CommandError, call_command

from edgeplug.audit.models import AuditEvent
from edgeplug.slugs import SLUG_PATTERN
from edgeplug.tenancy.models import Tenant
from edgeplug.tenancy.services import InvalidSlug, create_tenant
from marketplace.packageformat.schema import manifest_schema
from tests.conftest import changeform_data
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

NOT_A_VENDOR_SLUG = ["Acme Sensors!", "Acme_Sensors", "acme_sensors", "-acme", "acme-", "a" * 65]


@pytest.fixture
def platform_admin(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    return client


def test_a_tenant_slug_is_what_a_manifest_may_name_as_its_vendor():
    assert manifest_schema()["properties"]["vendor"]["pattern"] == SLUG_PATTERN


@pytest.mark.parametrize("slug", ["Acme Sensors!", "acme_sensors", "acme-", "a" * 65])
def test_createtenant_refuses_a_slug_no_package_could_name(slug):
    with pytest.raises(CommandError, match=r"invalid_slug: .*lowercase"):
        call_command("createtenant", slug, "--vendor")
    assert not Tenant.objects.exists()
    assert not AuditEvent.objects.filter(action="tenant_created").exists()


def test_createtenant_takes_a_slug_a_package_can_name(capsys):
    call_command("createtenant", "acme-sensors-2", "--name", "Acme Sensors", "--vendor")
    assert "Created tenant acme-sensors-2 (vendor)" in capsys.readouterr().out


@pytest.mark.parametrize("slug", NOT_A_VENDOR_SLUG)
def test_create_tenant_refuses_such_a_slug_as_a_bad_request_with_its_code(slug):
    with pytest.raises(InvalidSlug) as refused:
        create_tenant(name="Acme", slug=slug)
    assert (refused.value.code, refused.value.status) == ("invalid_slug", 400)


def _slug_errors(response) -> list[str]:
    assert response.status_code == 200, "the form again, with its errors"
    return response.context["adminform"].form.errors.get("slug", [])


def test_the_admin_add_form_refuses_a_slug_no_package_could_name(platform_admin):
    data = changeform_data(platform_admin.get("/admin/tenancy/tenant/add/"))
    data.update(
        {"name": "Acme Sensors", "slug": "Acme_Sensors", "is_vendor": "on", "is_customer": "on"}
    )
    data["memberships-TOTAL_FORMS"] = "0"
    errors = _slug_errors(platform_admin.post("/admin/tenancy/tenant/add/", data))
    assert any("lowercase" in error for error in errors), errors
    assert not Tenant.objects.exists()


def test_the_admin_change_form_refuses_renaming_to_such_a_slug(platform_admin):
    tenant = TenantFactory(slug="acme-sensors", is_vendor=True)
    url = f"/admin/tenancy/tenant/{tenant.pk}/change/"
    data = changeform_data(platform_admin.get(url))
    data["slug"] = "Acme_Sensors"
    errors = _slug_errors(platform_admin.post(url, data))
    assert any("lowercase" in error for error in errors), errors
    tenant.refresh_from_db()
    assert tenant.slug == "acme-sensors"
