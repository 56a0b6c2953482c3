"""manage.py seed_demo leaves what docs/commerce.md walks a newcomer through: demo sign-ins
that work, and an agent certified by the real pipeline, approved, and for sale with a one-time
and a metered plan, which the demo customer buys with a test card and downloads with a
certificate that verifies offline; a month of the metered plan, as docs/billing.md walks it,
is invoiced and paid by card. Running it again changes nothing but the passwords of the active
demo users, audited; what an operator changed stays."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from billing import tasks
from billing.charge_minimums import minimum_charge
from billing.models import Invoice, UsageHour
from billing.periods import month_label, month_start, next_month
from certification.models import CertificationRun
from certification.pipeline import orchestration
from edgeplug.accounts.models import User
from edgeplug.audit.models import AuditEvent
from edgeplug.certificates import verify_certificate
from edgeplug.tenancy.models import Membership, Tenant
from marketplace.models import AgentVersion, Entitlement, PricePlan
from tests.commerce.conftest import save_card
from tests.factories import DeviceFactory, usage_hours

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _signed_in(creds: list[dict], who: str) -> APIClient:
    entry = next(c for c in creds if c["email"].startswith(f"{who}@"))
    client = APIClient()
    tokens = client.post(
        "/api/v1/auth/token",
        {"email": entry["email"], "password": entry["password"]},
        format="json",
    )
    assert tokens.status_code == 200, tokens.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    return client


def test_seed_demo_sells_a_certified_agent_the_demo_customer_can_buy(
    settings, tmp_path, stripe_on, capsys
):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo")
    assert "is certified (standard) and for sale" in capsys.readouterr().out
    call_command("seed_demo")  # again: same agent, same run, same plans; fresh passwords
    creds = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert {c["email"].split("@")[0] for c in creds} == {
        "vendor",
        "customer",
        "reviewer",
        "finance",
    }

    version = AgentVersion.objects.get()
    run = CertificationRun.objects.get()  # certified once, through every stage of the level
    assert (run.status, run.level, run.review_status) == ("passed", "standard", "approved")
    assert sorted(r.test_suite for r in run.results.all()) == sorted([*run.stages, "signing"])
    assert PricePlan.objects.filter(agent=version.agent).count() == 2

    customer = _signed_in(creds, "customer")
    listing = customer.get("/api/v1/agents?q=sensor&price_model=one_time").json()
    assert [a["name"] for a in listing["results"]] == ["sensor-guard"]
    detail = customer.get(f"/api/v1/agents/{version.agent_id}").json()
    plans = {p["kind"]: p for p in detail["plans"]}
    assert sorted(plans) == ["metered", "one_time"]
    assert detail["versions"][0]["certificate"]["level"] == "standard"

    save_card(customer)  # 4242 4242 4242 4242, as the walkthrough does
    order = customer.post(
        "/api/v1/orders",
        {"agent": version.agent_id, "plan": plans["one_time"]["id"], "seats": 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY="newcomer-1",
    )
    assert order.status_code == 201, order.json()
    assert (order.json()["status"], order.json()["amount"]) == ("completed", 4900)

    bundle = customer.get(f"/api/v1/agents/{version.agent_id}/versions/1.0.0/bundle")
    assert bundle.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(bundle.content))
    verified = verify_certificate(
        json.loads(archive.read("certificate.json")),
        json.loads(archive.read("keys.json")),
        package=archive.read("sensor-guard-1.0.0.epk"),
    )
    assert verified.payload["level"] == "standard"


def test_the_demo_tenants_and_members_are_made_by_the_tenancy_actions(settings, tmp_path):
    """As createtenant and adduser make them: audited once (they were written directly,
    with no tenant_created or membership_created event), and kept on a second run."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", part="users", stdout=io.StringIO())
    call_command("seed_demo", part="users", stdout=io.StringIO())

    created = AuditEvent.objects.filter(action="tenant_created")
    joined = AuditEvent.objects.filter(action="membership_created")
    assert sorted(created.values_list("target", flat=True)) == ["acme-sensors", "globex-factory"]
    assert sorted(joined.values_list("target", flat=True)) == [
        "customer@demo.edgeplug.example",
        "vendor@demo.edgeplug.example",
    ]


STAFF = ["finance@demo.edgeplug.example", "reviewer@demo.edgeplug.example"]
EVERYONE = sorted([*STAFF, "customer@demo.edgeplug.example", "vendor@demo.edgeplug.example"])


def _targets(action: str) -> list[str]:
    return sorted(AuditEvent.objects.filter(action=action).values_list("target", flat=True))


def test_the_demo_users_are_made_and_audited_as_adduser_makes_them(settings, tmp_path):
    """user_created for each (it wrote users, groups and confirmed devices itself, with no
    event), staff with a TOTP device enrolled as a person enrols one, printed to scan."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", part="users", stdout=io.StringIO())

    assert _targets("user_created") == EVERYONE
    assert _targets("mfa_enrolled") == STAFF
    assert _targets("password_changed") == []
    reviewer = User.objects.get(email="reviewer@demo.edgeplug.example")
    created = AuditEvent.objects.get(action="user_created", target=reviewer.email)
    assert created.details["access"]["groups"] == ["reviewers"]
    assert created.details["access"]["is_staff"] is True
    assert TOTPDevice.objects.get(user=reviewer, confirmed=True).name == "demo"
    creds = {c["email"]: c for c in json.loads((tmp_path / "demo-credentials.json").read_text())}
    assert creds[reviewer.email]["totp_url"].startswith("otpauth://totp/")
    assert reviewer.check_password(creds[reviewer.email]["password"])


def test_a_second_run_keeps_what_an_operator_changed_and_audits_the_new_passwords(
    settings, tmp_path
):
    """It reactivated a deactivated demo user, made staff again one taken out of staff and
    gave back a removed device, and reset every password, none of it audited."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", part="users", stdout=io.StringIO())
    finance = User.objects.get(email="finance@demo.edgeplug.example")
    finance.is_active = False
    finance.save()
    reviewer = User.objects.get(email="reviewer@demo.edgeplug.example")
    reviewer.is_staff = False
    reviewer.save()
    reviewer.groups.clear()
    TOTPDevice.objects.filter(user=reviewer).delete()
    old_hash = finance.password

    out = io.StringIO()
    call_command("seed_demo", part="users", stdout=out)

    finance.refresh_from_db()
    reviewer.refresh_from_db()
    assert (finance.is_active, finance.password) == (False, old_hash)
    assert (reviewer.is_staff, list(reviewer.groups.all())) == (False, [])
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    assert _targets("user_created") == EVERYONE  # made once
    changed = AuditEvent.objects.filter(action="password_changed")
    assert sorted(e.target for e in changed) == [
        "customer@demo.edgeplug.example",
        "reviewer@demo.edgeplug.example",
        "vendor@demo.edgeplug.example",
    ]
    assert all(e.details == {"own": False} for e in changed)
    creds = {c["email"]: c for c in json.loads((tmp_path / "demo-credentials.json").read_text())}
    assert "password" not in creds[finance.email] and creds[finance.email]["deactivated"]
    assert reviewer.check_password(creds[reviewer.email]["password"])
    assert "finance@demo.edgeplug.example" in out.getvalue()
    assert "deactivated: left so, no password" in out.getvalue()


# docs/billing.md, "Try it by hand", step 2.
ACCOUNT = {
    "legal_name": "Globex Factory GmbH",
    "address_line1": "Werkstrasse 1",
    "postcode": "10115",
    "city": "Berlin",
    "country": "DE",
    "tax_id": "DE123456789",
    "invoice_emails": ["ap@globex.example"],
    "currency": "EUR",
    "tax_rate": "19.00",
    "reverse_charge": False,
}


def test_a_demo_month_of_the_metered_plan_is_invoiced_above_the_card_minimum_and_paid(
    settings, tmp_path, stripe_on, eager_celery, time_machine
):
    """The walk of docs/billing.md: the demo customer saves a card, sets its billing account,
    orders pay-as-you-run, and 30 devices run the agent 51 minutes each (25.5 agent-hours, 5.5
    beyond the 20 included). The month closed and finalized, its invoice is charged to the
    card: it comes to more than the smallest charge Stripe takes (localstripe refuses less,
    as Stripe does), so it is paid."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    creds = json.loads((tmp_path / "demo-credentials.json").read_text())
    version = AgentVersion.objects.get()
    customer = _signed_in(creds, "customer")
    save_card(customer)
    assert customer.put("/api/v1/billing/account", ACCOUNT, format="json").status_code == 201
    plan = PricePlan.objects.get(agent=version.agent, key="pay-as-you-run")
    order = customer.post(
        "/api/v1/orders",
        {"agent": version.agent_id, "plan": plan.pk, "seats": 30},
        format="json",
        HTTP_IDEMPOTENCY_KEY="demo-metered",
    )
    assert (order.status_code, order.json()["status"]) == (201, "completed"), order.json()
    entitlement = Entitlement.objects.get(order_id=order.json()["id"])
    hour = entitlement.valid_from.replace(minute=0, second=0, microsecond=0)
    devices = DeviceFactory.create_batch(30, tenant=entitlement.tenant)
    UsageHour.objects.bulk_create(
        row
        for device in devices
        for row in usage_hours(device, version.agent, hour, 1, seconds=3060)
    )

    month = month_start(hour)
    time_machine.move_to(next_month(month) + timedelta(days=settings.BILLING_GRACE_DAYS, hours=1))
    call_command("close_month", "--period", month_label(month), stdout=io.StringIO())
    assert len(tasks.finalize_due_invoices.delay().get()["finalized"]) == 1  # charged on commit

    invoice = Invoice.objects.get(tenant=entitlement.tenant)
    assert invoice.status == "paid", (invoice.payment_failure_code, invoice.payment_failure_detail)
    assert invoice.amount_due == 628 >= minimum_charge("EUR")  # 5.28 + 19 % VAT
    lines = list(invoice.lines.order_by("position").values_list("kind", "amount"))
    assert lines == [("flat_fee", 500), ("usage", 28)]  # the fee, then 5.5 h x 0.05


def test_a_demo_reviewer_taken_out_of_reviewers_is_told_not_a_traceback(settings, tmp_path):
    """Approving is the reviewers' (``check_reviewer``, whichever door): with the demo reviewer
    out of the group, the agent is certified but left unapproved, and the command says why."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", part="users", stdout=io.StringIO())
    User.objects.get(email="reviewer@demo.edgeplug.example").groups.clear()

    with pytest.raises(CommandError, match=r"not_a_reviewer.*back in the reviewers group"):
        call_command("seed_demo", part="agent", stdout=io.StringIO())
    version = AgentVersion.objects.get()
    assert (version.certification_status, version.review_status) == ("certified", "pending")


def test_a_deactivated_demo_reviewer_approves_nothing(settings, tmp_path):
    """An operator deactivated the demo reviewer (a rerun leaves a demo user as an operator
    left it: docs/security.md). A deactivated account acts nowhere, yet the agent was
    approved in its name; now it is left unapproved and the command says why."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", part="users", stdout=io.StringIO())
    User.objects.filter(email="reviewer@demo.edgeplug.example").update(is_active=False)

    with pytest.raises(CommandError, match=r"not_a_reviewer: .*deactivated.*reactivate them"):
        call_command("seed_demo", part="agent", stdout=io.StringIO())
    version = AgentVersion.objects.get()
    assert (version.certification_status, version.review_status) == ("certified", "pending")
    assert not CertificationRun.objects.filter(reviewed_by__isnull=False).exists()


def test_a_deactivated_demo_vendor_uploads_nothing(settings, tmp_path):
    """The demo vendor's developer deactivated: nothing is uploaded, certified or priced in
    their name (it was all done as for an active one)."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", part="users", stdout=io.StringIO())
    User.objects.filter(email="vendor@demo.edgeplug.example").update(is_active=False)

    with pytest.raises(CommandError, match=r"vendor@demo.edgeplug.example is deactivated"):
        call_command("seed_demo", part="agent", stdout=io.StringIO())
    assert not AgentVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="vendor_key_registered").exists()


def test_the_agent_part_before_the_users_part_says_to_run_that_first(settings, tmp_path):
    """``--help`` offers ``--part agent`` on its own: on a database without the demo users (a
    fresh one, or the parts run in the other order) it ended in a Tenant.DoesNotExist
    traceback."""
    settings.VAR_DIR = tmp_path
    with pytest.raises(CommandError, match=r"no tenant acme-sensors.*seed_demo --part users"):
        call_command("seed_demo", part="agent", stdout=io.StringIO())
    assert not Tenant.objects.exists() and not AgentVersion.objects.exists()


def test_a_demo_vendor_slug_held_by_a_customer_tenant_is_told_not_a_traceback(settings, tmp_path):
    """The operator's own tenant acme-sensors, which only buys, is kept as it is: the upload
    was refused (NotAVendor) and plain seed_demo (and ``make run``) ended in its traceback."""
    settings.VAR_DIR = tmp_path
    call_command("createtenant", "acme-sensors", "--customer", stdout=io.StringIO())

    with pytest.raises(CommandError, match=r"acme-sensors is not a vendor tenant.*Is vendor"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not AgentVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="vendor_key_registered").exists()
    assert User.objects.filter(email="vendor@demo.edgeplug.example").exists()  # users made


@pytest.mark.parametrize("change", ["removed", "billing"])
def test_a_demo_vendor_without_upload_rights_in_its_tenant_uploads_nothing(
    settings, tmp_path, change
):
    """Taken out of acme-sensors, or left there with a role that does not publish (billing),
    the vendor's developer could upload there by no door (``PUBLISH``); the package was
    uploaded and a signing key registered in their name all the same."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", part="users", stdout=io.StringIO())
    membership = Membership.objects.filter(user__email="vendor@demo.edgeplug.example")
    if change == "removed":
        membership.delete()
    else:
        membership.update(role=change)

    expected = {"removed": "is no member of", "billing": "is a billing member of"}[change]
    with pytest.raises(CommandError, match=rf"vendor@demo.edgeplug.example {expected} acme"):
        call_command("seed_demo", part="agent", stdout=io.StringIO())
    assert not AgentVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="vendor_key_registered").exists()


def test_a_seed_stopped_mid_certification_is_finished_by_the_next_one(
    settings, tmp_path, monkeypatch
):
    """Ctrl-C on the first `make run` while the demo agent was being certified (its canvas runs
    inside seed_demo) left the run `running`, carried on by nothing: every later `make run`
    printed a RunInProgress traceback and had no demo agent until the sweeper ended the run two
    hours later. The next seed now ends that run as an error and certifies the agent anew."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", part="users", stdout=io.StringIO())
    real_stage = orchestration.execute_stage

    def ctrl_c_during_invariants(run_id, stage, **kwargs):
        if stage == "invariants":
            raise KeyboardInterrupt  # what SIGINT raises in the seeding process
        return real_stage(run_id, stage, **kwargs)

    monkeypatch.setattr(orchestration, "execute_stage", ctrl_c_during_invariants)
    with pytest.raises(CommandError, match="Stopped before the demo data was complete") as stop:
        call_command("seed_demo", part="agent", stdout=io.StringIO())
    assert stop.value.returncode == 130  # as a shell reports a Ctrl-C
    (stranded,) = CertificationRun.objects.all()
    assert f"Run {stranded.pk} of the demo agent ends as an error" in str(stop.value)
    # Ended at once, as the seed stops: nothing else would carry it on.
    assert (stranded.status, stranded.error_code) == ("error", "run_interrupted")
    monkeypatch.undo()
    # A seed killed outright (SIGKILL, the machine off) cannot end it: the next seed does.
    CertificationRun.objects.filter(pk=stranded.pk).update(status="running", error_code="")

    out = io.StringIO()
    call_command("seed_demo", part="agent", stdout=out)

    stranded.refresh_from_db()
    assert (stranded.status, stranded.error_code) == ("error", "run_interrupted")
    assert f"Run {stranded.pk} was left running" in out.getvalue()
    version = AgentVersion.objects.get()
    assert (version.certification_status, version.review_status) == ("certified", "approved")
    assert AuditEvent.objects.filter(action="certification_interrupted").count() == 2
