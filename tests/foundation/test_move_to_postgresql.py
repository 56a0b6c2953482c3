"""Moving off the embedded SQLite default to PostgreSQL as docs/operations.md says: dumpdata
from SQLite, then migrate, loaddata and refresh_catalogue on PostgreSQL; finalized invoices
and their lines arrive whole (the invoice triggers refused them until 2026-12-07)."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection

from billing.models import Invoice, InvoiceLine
from edgeplug.tenancy.models import Tenant
from tests.processes import python_with_settings

pytestmark = pytest.mark.django_db

ON_SQLITE = """
import django; django.setup()
from django.contrib.auth.models import Group
from django.core.management import call_command
from tests.factories import EntitlementFactory, TenantFactory, finalized_sale
from datetime import datetime, UTC
call_command("migrate", verbosity=0)
customer = TenantFactory(is_customer=True, name="Moving Customer")
month = datetime(2026, 11, 1, tzinfo=UTC)
finalized_sale(customer, EntitlementFactory(order__tenant=customer), month, amount=1000)
call_command("dumpdata", "--natural-foreign", "--exclude", "contenttypes",
             "--exclude", "auth.permission", output={dump!r})
"""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the move is to PostgreSQL")
def test_the_embedded_default_moves_to_postgresql_as_documented(tmp_path):
    dump = tmp_path / "move.json"
    made = python_with_settings(tmp_path, ON_SQLITE.format(dump=str(dump)))
    assert made.returncode == 0, made.stderr

    # A new database after `migrate` holds the built-in groups under the ids SQLite's
    # `migrate` gave them, which the dump names; this test database's were made again by
    # earlier tests' flushes under other ids (a unique name then collides).
    Group.objects.all().delete()
    call_command("loaddata", str(dump), verbosity=0)
    call_command("refresh_catalogue", verbosity=0)
    customer = Tenant.objects.get(name="Moving Customer")
    (invoice,) = Invoice.objects.filter(tenant=customer)
    assert invoice.finalized_at is not None
    assert InvoiceLine.objects.filter(invoice=invoice).count() == 1
