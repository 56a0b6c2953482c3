"""The admin prints every date-time with its zone (edgeplug/formats): all are UTC, and a
finance or review team member in another zone read "Feb. 4, 2026, 9 a.m." as their own 9 a.m.
Finance reads a finalized invoice's dates on its change page, a platform admin the audit
log's times (superusers read it)."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from lxml import html

from billing import invoicing

pytestmark = pytest.mark.django_db

FINALIZED = datetime(2026, 2, 4, 9, 30, tzinfo=UTC)


def shown(page, field: str) -> str:
    (cell,) = html.fromstring(page.content).xpath(
        f'//*[contains(@class, "field-{field}")]//*[contains(@class, "readonly")]'
    )
    return " ".join(cell.text_content().split())


def test_an_invoice_s_times_say_utc(draft, admin_session, broker_refuses):
    broker_refuses.everything = True
    with time_machine.travel(FINALIZED, tick=False):
        invoice = invoicing.finalize_invoice(draft)
    client, _ = admin_session("finance")

    page = client.get(f"/admin/billing/invoice/{invoice.pk}/change/")

    assert page.status_code == 200
    assert shown(page, "finalized_at") == "Feb. 4, 2026, 9:30 a.m. UTC"
    auditor, _ = admin_session("platform-admins", is_superuser=True)
    listed = auditor.get("/admin/audit/auditevent/").content.decode()
    assert re.search(r"Feb\. 4, 2026, 9:30 a\.m\. UTC", listed), "audit times carry no zone"
