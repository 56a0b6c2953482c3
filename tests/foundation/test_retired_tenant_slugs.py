"""A slug a tenant gave up in a rename is retired: its stored manifests and signed certificates
still name their vendor by it, so no other tenant may take it, at any door that makes or
renames a tenant (the action, the command, the admin's add and change forms); the tenant that
held it may take it back."""

from functools import partial

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from edgeplug.audit.models import AuditEvent
from edgeplug.audit.services import record_event
from edgeplug.tenancy.models import RetiredSlug, Tenant
from edgeplug.tenancy.services import SlugRetired, create_tenant, update_tenant
from tests.concurrency import in_thread, needs_row_locks, wait_for_blocked_backend
from tests.conftest import changeform_data
from tests.factories import AgentVersionFactory, TenantFactory, VendorTenantFactory
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db


@pytest.fixture
def renamed():
    """Acme, a vendor with a certified agent, renamed acme -> acme-systems."""
    vendor = VendorTenantFactory(slug="acme", name="Acme")
    AgentVersionFactory(agent__tenant=vendor, agent__name="pump-anomaly", public=True)
    return update_tenant(vendor, {"slug": "acme-systems"})


@pytest.fixture
def platform_admin(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    return client


def test_a_slug_a_vendors_certified_packages_name_is_not_given_to_another_tenant(renamed):
    """Before, a new tenant "acme" could publish acme/pump-anomaly: two companies behind one
    vendor name in certificates."""
    with pytest.raises(SlugRetired) as refused:
        create_tenant(name="Someone else", slug="acme", is_vendor=True)
    assert (refused.value.code, refused.value.status, refused.value.field) == (
        "slug_retired",
        409,
        "slug",
    )
    assert "acme-systems" in refused.value.detail
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["acme-systems"]


def test_the_rename_remembers_the_slug_given_up(renamed):
    assert list(RetiredSlug.objects.values_list("slug", "tenant")) == [("acme", renamed.pk)]


def test_another_tenant_cannot_be_renamed_to_a_retired_slug(renamed):
    other = TenantFactory(slug="beta")
    with pytest.raises(SlugRetired):
        update_tenant(other, {"slug": "acme"})
    other.refresh_from_db()
    assert other.slug == "beta"


def test_the_tenant_that_held_a_slug_may_take_it_back(renamed):
    update_tenant(renamed, {"slug": "acme"})
    renamed.refresh_from_db()
    assert renamed.slug == "acme"
    # It holds acme again; acme-systems, given up now, is retired in its place.
    assert list(RetiredSlug.objects.values_list("slug", "tenant")) == [("acme-systems", renamed.pk)]
    with pytest.raises(SlugRetired):
        create_tenant(name="Someone else", slug="acme-systems")


def test_createtenant_refuses_a_retired_slug(renamed):
    with pytest.raises(CommandError, match="slug_retired: "):
        call_command("createtenant", "acme", "--vendor")
    assert Tenant.objects.count() == 1


def _slug_errors(response) -> list[str]:
    assert response.status_code == 200, "the form again, with its errors"
    return response.context["adminform"].form.errors.get("slug", [])


def test_the_admin_add_form_refuses_a_retired_slug_at_the_field(renamed, platform_admin):
    data = changeform_data(platform_admin.get("/admin/tenancy/tenant/add/"))
    data.update({"name": "Someone else", "slug": "acme", "is_vendor": "on", "is_customer": "on"})
    data["memberships-TOTAL_FORMS"] = "0"
    errors = _slug_errors(platform_admin.post("/admin/tenancy/tenant/add/", data))
    assert any("acme-systems" in error for error in errors), errors
    assert Tenant.objects.count() == 1


def _renamed_in_the_admin(client, tenant, slug: str):
    url = f"/admin/tenancy/tenant/{tenant.pk}/change/"
    return client.post(url, {**changeform_data(client.get(url)), "slug": slug})


def test_the_admin_change_form_refuses_another_tenant_a_retired_slug(renamed, platform_admin):
    response = _renamed_in_the_admin(platform_admin, TenantFactory(slug="beta"), "acme")
    errors = _slug_errors(response)
    assert any("acme-systems" in error for error in errors), errors


def test_the_admin_change_form_gives_a_tenant_its_own_slug_back(renamed, platform_admin):
    response = _renamed_in_the_admin(platform_admin, renamed, "acme")
    assert response.status_code == 302, response.context["adminform"].form.errors
    renamed.refresh_from_db()
    assert renamed.slug == "acme"


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_tenant_made_while_the_rename_giving_up_its_slug_commits_is_refused():
    """The new tenant's row waits for the renamed one (the slug is unique) and, once the rename
    has committed, finds the slug retired rather than free."""
    vendor = VendorTenantFactory(slug="acme")
    answers, errors = [], []
    with transaction.atomic():
        update_tenant(vendor, {"slug": "acme-systems"})
        create = partial(create_tenant, name="Someone else", slug="acme")
        thread = in_thread(create, answers, errors)
        wait_for_blocked_backend(thread)
    thread.join()
    assert [type(error) for error in errors] == [SlugRetired], (answers, errors)
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["acme-systems"]


def _renamed_before(tenant, given_up: str, taken: str) -> None:
    """A rename as update_tenant audited it before slugs were retired."""
    fields = {"slug": {"from": given_up, "to": taken}}
    record_event("tenant_changed", tenant=tenant, target=taken, details={"fields": fields})


@pytest.mark.django_db(transaction=True)
def test_slugs_given_up_before_the_rule_are_retired_from_the_audit_log():
    acme = VendorTenantFactory(slug="acme-systems")
    nordic = TenantFactory(slug="nordic")
    gamma = TenantFactory(slug="gamma-2")
    TenantFactory(slug="gamma")  # took gamma's slug before the rule: it keeps it
    with migrated_back("tenancy", "0003_tenant_kind_message") as migrator:
        _renamed_before(acme, "acme", "acme-systems")
        _renamed_before(nordic, "nordic", "nordic-2")
        _renamed_before(nordic, "nordic-2", "nordic")  # took its slug back
        _renamed_before(gamma, "gamma", "gamma-2")
        record_event("tenant_changed", tenant=acme, details={"fields": {"name": {}}})
        migrator.forward("0004_retired_slug")
    retired = RetiredSlug.objects.values_list("slug", "tenant")
    assert sorted(retired) == [("acme", acme.pk), ("nordic-2", nordic.pk)]
    # retired as of the rename, which the refusal names
    renamed_at = AuditEvent.objects.get(target="acme-systems").created_at
    assert RetiredSlug.objects.get(slug="acme").retired_at == renamed_at
    with pytest.raises(SlugRetired):
        create_tenant(name="Someone else", slug="acme")


@pytest.mark.django_db(transaction=True)
def test_going_back_in_one_app_leaves_every_app_at_its_latest_migration():
    """Migrating tenancy back took marketplace 0018 and later with it (they depend on tenancy
    0004); bringing only tenancy forward left the next tests without the catalogue's
    generation table."""
    executor = MigrationExecutor(connection)
    with migrated_back("tenancy", "0003_tenant_kind_message"):
        pass
    executor.loader.build_graph()
    assert not executor.migration_plan(executor.loader.graph.leaf_nodes())
