"""Queries compiled once per process (``edgeplug.core.compiled``) give exactly what the ORM
gives for the same queryset: the same instances with the same related rows and deferred
fields, the same converted values, the same errors for malformed values."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.db.models import Value
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from edgeplug.accounts.authentication import _membership_query
from edgeplug.core.compiled import CompiledQuery
from edgeplug.core.serializers import represent
from edgeplug.tenancy.models import Membership
from marketplace.api.serializers import UploadResultSerializer
from marketplace.catalogue import refresh_listing
from marketplace.models import AgentVersion, Device
from marketplace.visibility import _newest_listed_version, agent_with_latest_version
from tests.concurrency import race
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    DeviceFactory,
    MembershipFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


def _loaded(instance) -> tuple:
    """What an instance holds: its values, its deferred fields, where it came from."""
    values = {name: value for name, value in vars(instance).items() if name != "_state"}
    return type(instance), values, instance.get_deferred_fields(), instance._state.db


def _same(compiled, orm, seen=None) -> None:
    """The same instance, and the same related instances cached on it (select_related)."""
    seen = set() if seen is None else seen
    if id(orm) in seen:  # a one-to-one's reverse side points back
        return
    seen.add(id(orm))
    assert _loaded(compiled) == _loaded(orm)
    assert set(compiled._state.fields_cache) == set(orm._state.fields_cache)
    for name, related in orm._state.fields_cache.items():
        if related is None:
            assert compiled._state.fields_cache[name] is None
        else:
            _same(compiled._state.fields_cache[name], related, seen)


@pytest.fixture
def agent():
    """An agent with public versions and its listing, and a newer unpublished upload."""
    agent = AgentFactory()
    for version in ("1.0.0", "1.2.0", "1.10.0"):
        AgentVersionFactory(agent=agent, version=version, public=True)
    refresh_listing(agent)
    AgentVersionFactory(agent=agent, version="2.0.0-rc.1")
    return agent


@pytest.mark.parametrize("caller", ["vendor", "customer"])
def test_the_upload_response_reads_the_newest_visible_version_as_the_orm_does(agent, caller):
    customer = MembershipFactory().tenant
    tenant = agent.tenant if caller == "vendor" else customer
    request = SimpleNamespace(tenant=tenant)

    compiled = agent_with_latest_version(request, agent.pk)
    (orm,) = _newest_listed_version(tenant, agent.pk)  # the queryset, through the ORM
    orm.agent.visible_versions = [orm]  # as agent_with_latest_version sets it

    _same(compiled.visible_versions[0], orm)
    expected = "2.0.0-rc.1" if caller == "vendor" else "1.10.0"
    assert compiled.visible_versions[0].version == expected
    assert compiled.listing.version.version == "1.10.0"
    body = {"version": orm, "created": True, "certification_run": None}
    body["certification_error"] = body["certification_not_restarted"] = None
    response = represent(UploadResultSerializer, {**body, "agent": compiled})
    assert response == represent(UploadResultSerializer, {**body, "agent": orm.agent})


def test_another_vendors_unpublished_agent_is_not_found(agent):
    AgentVersion.objects.filter(agent=agent).update(review_status="pending")
    stranger = MembershipFactory().tenant
    with pytest.raises(type(agent).DoesNotExist):
        agent_with_latest_version(SimpleNamespace(tenant=stranger), agent.pk)


def test_values_list_rows_and_json_columns_convert_as_the_orm_converts_them(agent):
    manifests = CompiledQuery(
        lambda agent: (
            AgentVersion.objects.filter(agent=agent)
            .newest_first()
            .values_list("version", "manifest", "created_at")
        ),
        agent=AgentVersion._meta.get_field("agent"),
    )
    orm = list(
        AgentVersion.objects.filter(agent=agent)
        .newest_first()
        .values_list("version", "manifest", "created_at")
    )
    assert manifests.fetch(agent=agent.pk) == orm
    assert isinstance(orm[0][1], dict)


def test_the_membership_is_read_as_the_orm_reads_it():
    membership = MembershipFactory()
    orm = (
        Membership.objects.select_related("tenant", "user")
        .filter(user__pk=membership.user_id, tenant_id=membership.tenant_id)
        .get()
    )
    (compiled,) = _membership_query.fetch(user=membership.user_id, tenant=membership.tenant_id)
    _same(compiled, orm)
    # Ids from a token's claims may be strings: prepared as a filter prepares them.
    (compiled,) = _membership_query.fetch(
        user=str(membership.user_id), tenant=str(membership.tenant_id)
    )
    _same(compiled, orm)


def test_first_is_the_first_row_or_none():
    tenant = TenantFactory()
    newest = CompiledQuery(
        lambda tenant: Device.objects.filter(tenant=tenant).order_by("-pk"),
        tenant=Device._meta.get_field("tenant"),
    )
    assert newest.first(tenant=tenant.pk) is None
    DeviceFactory(tenant=tenant)
    second = DeviceFactory(tenant=tenant)
    assert newest.first(tenant=tenant.pk) == second
    assert newest.first(tenant=tenant.pk) == newest.fetch(tenant=tenant.pk)[0]


@pytest.mark.django_db(transaction=True)
def test_a_query_compiled_on_one_thread_runs_on_another_threads_connection():
    # gunicorn gthread workers share the compiled query; each thread has its own connection.
    membership = MembershipFactory()
    values = {"user": membership.user_id, "tenant": membership.tenant_id}
    (here,) = _membership_query.fetch(**values)
    (there,) = race(lambda _: _membership_query.fetch(**values), [None])[0]
    _same(there, here)


def test_a_malformed_value_fails_as_it_fails_in_a_filter():
    with pytest.raises(ValueError) as orm:
        Membership.objects.filter(user__pk="not-a-number")
    with pytest.raises(ValueError) as compiled:
        _membership_query.fetch(user="not-a-number", tenant=1)
    assert str(compiled.value) == str(orm.value)


def test_a_parameter_on_a_nullable_column_is_refused():
    # None there would be compared with = (never true), where a filter means IS NULL.
    with pytest.raises(TypeError, match="nullable"):
        CompiledQuery(
            lambda user: AgentVersion.objects.filter(uploaded_by=user),
            user=AgentVersion._meta.get_field("uploaded_by"),
        )


def test_a_queryset_the_compiled_rows_could_not_reproduce_is_refused(agent):
    annotated = CompiledQuery(
        lambda agent: AgentVersion.objects.filter(agent=agent).annotate(one=Value(1)),
        agent=AgentVersion._meta.get_field("agent"),
    )
    with pytest.raises(TypeError, match="plain"):
        annotated.fetch(agent=agent.pk)


def _devices(tenant, since):
    return (
        Device.objects.filter(tenant=tenant, created_at__gte=since)
        .exclude(token_created_at__lt=since)
        .order_by("pk")
        .values_list("pk", "hardware_id", "created_at")
    )


def test_datetime_parameters_bind_as_the_database_prepares_them():
    """On PostgreSQL a datetime travels as it is, on SQLite as text: both as the ORM sends it."""
    compiled = CompiledQuery(
        _devices,
        tenant=Device._meta.get_field("tenant"),
        since=Device._meta.get_field("created_at"),
    )
    first, second = TenantFactory(), TenantFactory()
    devices = [
        DeviceFactory(tenant=first),
        DeviceFactory(tenant=first),
        DeviceFactory(tenant=second),
    ]
    now = devices[-1].created_at
    for tenant in (first, second, TenantFactory()):
        for since in (now - timedelta(days=1), now, now + timedelta(microseconds=1)):
            assert compiled.fetch(tenant=tenant.pk, since=since) == list(_devices(tenant.pk, since))
    assert [pk for pk, *_ in compiled.fetch(tenant=first.pk, since=now - timedelta(days=1))] == [
        d.pk for d in devices[:2]
    ]


def test_a_locking_query_runs_inside_the_callers_transaction():
    device = DeviceFactory()
    locked = CompiledQuery(
        lambda device: (
            Device.objects.select_for_update().filter(pk=device).values_list("tenant_id")
        ),
        device=Device._meta.pk,
    )
    with transaction.atomic():
        assert locked.fetch(device=device.pk) == [(device.tenant_id,)]


@pytest.mark.django_db(transaction=True)
def test_a_lock_outside_a_transaction_is_refused_as_the_orm_refuses_it():
    device = DeviceFactory()
    locked = CompiledQuery(
        lambda pk: Device.objects.select_for_update().filter(pk=pk).values_list("tenant_id"),
        pk=Device._meta.pk,
    )
    with transaction.atomic():
        locked.fetch(pk=device.pk)  # compiled inside a transaction
    with pytest.raises(TransactionManagementError):
        locked.fetch(pk=device.pk)


@pytest.mark.parametrize("derived", ["a day before", "a pattern around"])
def test_a_value_derived_from_a_placeholder_is_refused(derived):
    """It would stay frozen at the placeholder's value in the compiled SQL."""
    build = {
        "a day before": lambda tenant, since: Device.objects.filter(
            tenant=tenant, created_at__gte=since - timedelta(days=1), token_created_at__lte=since
        ).values_list("pk"),
        "a pattern around": lambda tenant, since: (
            Device.objects.filter(tenant=tenant, created_at__gte=since)
            .filter(name__icontains=str(tenant))
            .values_list("pk")
        ),
    }[derived]
    compiled = CompiledQuery(
        build,
        tenant=Device._meta.get_field("tenant"),
        since=Device._meta.get_field("created_at"),
    )
    with pytest.raises(TypeError, match="derived from a placeholder"):
        compiled.fetch(tenant=1, since=timezone.now())
