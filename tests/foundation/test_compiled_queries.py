"""``edgeplug.core.compiled.CompiledRows``: a queryset compiled once answers, for any values,
what the ORM answers for the same values; a placeholder that does not reach the SQL, or
columns that need converters, are refused when it compiles."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from edgeplug.core.compiled import CompiledRows
from edgeplug.tenancy.models import Tenant
from marketplace.models import Device
from tests.factories import DeviceFactory, TenantFactory

pytestmark = pytest.mark.django_db

_WHEN = datetime(1901, 1, 1, tzinfo=UTC)


def _devices(tenant: int, since: datetime):
    return (
        Device.objects.filter(tenant=tenant, created_at__gte=since)
        .exclude(token_created_at__lt=since)
        .order_by("pk")
        .values_list("pk", "hardware_id")
    )


def test_compiled_rows_equal_the_querysets_for_every_value():
    compiled = CompiledRows(_devices, -1, _WHEN)
    first, second = TenantFactory(), TenantFactory()
    devices = [
        DeviceFactory(tenant=first),
        DeviceFactory(tenant=first),
        DeviceFactory(tenant=second),
    ]
    now = devices[-1].created_at
    for tenant in (first, second, TenantFactory()):
        for since in (now - timedelta(days=1), now + timedelta(days=1)):
            assert compiled.rows(tenant.pk, since) == list(_devices(tenant.pk, since))
    assert compiled.rows(first.pk, now - timedelta(days=1)) == [
        (d.pk, d.hardware_id) for d in devices[:2]
    ]


def test_a_locking_query_compiles_and_runs_inside_a_transaction():
    device = DeviceFactory()
    compiled = CompiledRows(
        lambda pk: Device.objects.select_for_update().filter(pk=pk).values_list("tenant_id"), -1
    )
    with transaction.atomic():
        assert compiled.rows(device.pk) == [(device.tenant_id,)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compiled on PostgreSQL only")
def test_a_placeholder_missing_from_the_sql_is_refused():
    compiled = CompiledRows(
        lambda pk, unused: Tenant.objects.filter(pk=pk).values_list("pk"), -1, -2
    )
    with pytest.raises(ImproperlyConfigured, match="placeholder -2"):
        compiled.rows(1, 2)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compiled on PostgreSQL only")
def test_columns_that_need_converters_are_refused():
    from django.db.models import DecimalField
    from django.db.models.functions import Cast

    compiled = CompiledRows(
        lambda pk: Tenant.objects.filter(pk=pk).values_list(
            Cast("pk", DecimalField(max_digits=10, decimal_places=2))
        ),
        -1,
    )
    with pytest.raises(ImproperlyConfigured, match="converters"):
        compiled.rows(1)
