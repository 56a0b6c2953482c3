"""Finance (or someone trying EdgePlug) closes a month on demand, through ``manage.py
close_month`` or the admin's "Close period now": the same close as the beat job, audited; a
month that has not ended only when forced, a month that has not started never."""

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command

from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from tests.conftest import METRICS_TOKEN
from tests.gunicorn_server import database_url_for_test_db
from tests.invoicing.conftest import FEB, JAN
from tests.processes import shared_keys

MID_JANUARY = JAN + timedelta(days=20, hours=9)
EXPORTS = "/admin/billing/finance/exports/"
CLOSE = "/admin/billing/finance/close/"


def close_month(*args) -> str:
    out = StringIO()
    call_command("close_month", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def january_usage(customer):
    customer.ran(customer.metered(), JAN + timedelta(days=2), 3)
    return customer


def test_the_command_refuses_a_month_that_has_not_ended_unless_forced(january_usage):
    with time_machine.travel(MID_JANUARY, tick=False):
        with pytest.raises(CommandError, match=r"2026-01 has not ended .* --force"):
            close_month("--period", "2026-01")
        assert not Invoice.objects.exists()
        assert not AuditEvent.objects.filter(action="billing_period_closed").exists()

        out = close_month("--period", "2026-01", "--force")

    (draft,) = Invoice.objects.all()
    assert "2026-01: 1 drafts created" in out and f"/admin/billing/invoice/{draft.pk}/" in out
    assert draft.status == InvoiceStatus.DRAFT and draft.period_start == JAN
    assert draft.finalize_after == FEB + timedelta(days=3)
    event = AuditEvent.objects.get(action="billing_period_closed")
    assert event.details["period"] == "2026-01" and event.details["forced"] is True
    assert event.details["created"] == 1 and event.details["via"].startswith("manage.py")


def test_the_command_closes_an_ended_month_once(january_usage):
    assert "1 drafts created" in close_month("--period", "2026-01")
    assert "0 drafts created, 0 refreshed, 1 unchanged" in close_month("--period", "2026-01")
    assert Invoice.objects.count() == 1
    # The second run changed nothing: the audit log has the close that made the draft only.
    closed = AuditEvent.objects.filter(action="billing_period_closed")
    assert [(e.details["forced"], e.details["created"]) for e in closed] == [(False, 1)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    shutil.which("unshare") is None, reason="needs util-linux's unshare for a user namespace"
)
def test_the_command_closes_the_month_as_a_user_the_system_has_no_name_for(january_usage, tmp_path):
    """Where deploy/k8s runs every process: as uid 10001 (``runAsUser``), which the image's
    /etc/passwd does not name, with no USER or LOGNAME (``kubectl exec`` sets neither). Naming
    the operator raised KeyError there: a traceback, and the month was not closed. The uid is
    made with a user namespace (``unshare --map-user``), so the files stay readable."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": "/",
        "DJANGO_SETTINGS_MODULE": "edgeplug.settings",
        "EDGEPLUG_VAR_DIR": str(tmp_path),
        "DATABASE_URL": database_url_for_test_db(),
        "METRICS_TOKEN": METRICS_TOKEN,  # else the system checks warn on stderr
    }
    env.update(shared_keys(env))
    as_uid_10001 = ["unshare", "--user", "--map-user=10001", "--map-group=10001"]
    result = subprocess.run(
        [*as_uid_10001, sys.executable, "manage.py", "close_month", "--period", "2026-01"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0 and not result.stderr, result.stderr[-1500:]
    assert "2026-01: 1 drafts created" in result.stdout
    assert Invoice.objects.get().status == InvoiceStatus.DRAFT
    event = AuditEvent.objects.get(action="billing_period_closed")
    assert event.details["via"] == "manage.py close_month (as uid 10001)"


def test_the_command_refuses_a_future_month_even_forced_and_a_bad_period(january_usage):
    with (
        time_machine.travel(MID_JANUARY, tick=False),
        pytest.raises(CommandError, match="2026-02 has not started"),
    ):
        close_month("--period", "2026-02", "--force")
    with pytest.raises(CommandError, match="YYYY-MM"):
        close_month("--period", "2026-13")
    assert not Invoice.objects.exists()


def test_finance_closes_a_period_from_the_exports_page(january_usage, admin_session):
    client, user = admin_session("finance")
    with time_machine.travel(MID_JANUARY, tick=False):
        html = client.get(f"{EXPORTS}?period=2026-01").content.decode()
        assert 'id="close-period-form"' in html and 'name="force"' in html
        refused = client.post(CLOSE, {"period": "2026-01"}, follow=True)
        assert "2026-01 has not ended" in refused.content.decode()
        assert not Invoice.objects.exists()
        closed = client.post(CLOSE, {"period": "2026-01", "force": "1"}, follow=True)
    assert closed.redirect_chain[-1][0] == "/admin/billing/invoice/?period=2026-01"
    body = closed.content.decode()
    assert "Closed 2026-01: 1 drafts created" in body
    (draft,) = Invoice.objects.all()
    assert f"draft {draft.pk}" in body
    event = AuditEvent.objects.get(action="billing_period_closed")
    assert event.actor == user and event.details["via"] == "admin"
    assert event.details["forced"] is True


@pytest.mark.parametrize("period", ["2026-13", ""])
def test_a_malformed_period_posted_is_said_once(admin_session, period):
    """The exports page it went back to read the same period again and said it twice."""
    client, _ = admin_session("finance")
    refused = client.post(CLOSE, {"period": period}, follow=True)
    assert refused.redirect_chain[-1][0] == EXPORTS
    assert refused.content.decode().count("A period is a calendar month written YYYY-MM") == 1
    assert not Invoice.objects.exists()


def test_the_not_ended_box_is_offered_only_for_a_month_that_has_not_ended(admin_session):
    """The box said "2026-01 has not ended yet: close it anyway" also in March."""
    client, _ = admin_session("finance")
    at = {MID_JANUARY: True, FEB: False, FEB + timedelta(days=40): False}
    for now, offered in at.items():
        with time_machine.travel(now, tick=False):
            html = client.get(f"{EXPORTS}?period=2026-01").content.decode()
        assert 'id="close-period-form"' in html, now
        assert ('name="force"' in html) is offered, now
        assert ("2026-01 has not ended yet" in html) is offered, now


def test_only_finance_closes_a_period_and_only_by_post(january_usage, admin_session):
    reviewer, _ = admin_session("reviewers")
    assert reviewer.post(CLOSE, {"period": "2026-01"}).status_code == 403
    finance, _ = admin_session("finance")
    assert finance.get(f"{CLOSE}?period=2026-01").status_code == 405
    assert not Invoice.objects.exists()
