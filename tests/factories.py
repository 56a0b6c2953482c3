"""factory_boy factories: tenants and members, vendor keys, versions, runs, certificates,
price plans, orders, entitlements and reviews."""

import hashlib
from datetime import datetime, timedelta

import factory
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing.models import BillingAccount, UsageHour
from certification.pipeline.levels import LEVEL_STAGES
from edgeplug import signing
from edgeplug.accounts.models import User
from edgeplug.tenancy.models import Membership, Role, Tenant
from tests.packageformat.builders import make_manifest

PASSWORD = "correct horse battery staple"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    is_vendor = False
    is_customer = True


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ADMIN


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "phone"
    confirmed = True


def staff_member(group: str = "reviewers") -> User:
    """A staff user of ``group`` with one confirmed TOTP device (``user.device``)."""
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    user.device = TOTPDeviceFactory(user=user)
    return user


# --- Registry and certification -------------------------------------------------------------
# Rows only: these build what later tests stand on (a vendor with a key, an uploaded version,
# a certified and approved public version, a run with results, a certificate) without
# uploading or running the pipeline. Tests of upload and certification use the real doors.


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class VendorTenantFactory(TenantFactory):
    is_vendor = True
    is_customer = False


class VendorKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "marketplace.VendorKey"

    tenant = factory.SubFactory(VendorTenantFactory)
    public_key = factory.LazyFunction(
        lambda: signing.encode_b64(signing.generate_keypair().public_key)
    )
    key_id = factory.LazyAttribute(
        lambda o: signing.key_id(signing.decode_public_key(o.public_key))
    )
    name = "release key"


class WorkflowPackageFactory(factory.django.DjangoModelFactory):
    """A stored workflow package of its vendor, signed by the vendor's first key; no steps
    unless ``content`` says. Nothing checks the signature: uploads do (marketplace.wpk)."""

    class Meta:
        model = "marketplace.WorkflowPackage"

    tenant = factory.SubFactory(VendorTenantFactory)
    signing_key = factory.LazyAttribute(lambda o: _vendor_key(o.tenant))
    name = factory.Sequence(lambda n: f"line-{n}")
    version = "1.0.0"
    content = factory.LazyFunction(lambda: {"steps": []})
    digest = factory.Sequence(lambda n: f"{n:064x}")
    signature = "A" * 86 + "=="


def _vendor_key(tenant):
    """The vendor's first key: a vendor signs its versions with one key, not one each."""
    from marketplace.models import VendorKey

    return VendorKey.objects.filter(tenant=tenant).first() or VendorKeyFactory(tenant=tenant)


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "marketplace.Agent"

    tenant = factory.SubFactory(VendorTenantFactory)
    name = factory.Sequence(lambda n: f"agent-{n}")
    agent_type = "anomaly-detection"
    description = "Flags anomalies in pump vibration."


class AgentVersionFactory(factory.django.DjangoModelFactory):
    """An uploaded version (its blob is not stored). Traits: ``certified`` (a passed run's
    state), ``public`` (certified and approved: customers see it)."""

    class Meta:
        model = "marketplace.AgentVersion"

    agent = factory.SubFactory(AgentFactory)
    tenant = factory.SelfAttribute("agent.tenant")
    # Never a version a test writes by hand (1.0.0, 1.1.0 …), whichever test runs first.
    version = factory.Sequence(lambda n: f"1.0.{n + 100}")
    manifest = factory.LazyAttribute(
        lambda o: make_manifest(name=o.agent.name, version=o.version, vendor=o.tenant.slug)
    )
    digest = factory.LazyAttribute(
        lambda o: hashlib.sha256(f"{o.agent.name}@{o.version}".encode()).hexdigest()
    )
    size = 4096
    manifest_digest = factory.LazyAttribute(
        lambda o: hashlib.sha256(repr(o.manifest).encode()).hexdigest()
    )
    target_core = factory.LazyAttribute(lambda o: o.manifest["target"]["core"])
    storage_name = factory.LazyAttribute(lambda o: f"packages/sha256/{o.digest[:2]}/{o.digest}.epk")
    signature = "A" * 86 + "=="
    signing_key = factory.LazyAttribute(lambda o: _vendor_key(o.tenant))

    class Params:
        certified = factory.Trait(
            certification_status="certified", certified_at=factory.LazyFunction(timezone.now)
        )
        public = factory.Trait(
            certification_status="certified",
            certified_at=factory.LazyFunction(timezone.now),
            review_status="approved",
        )


class CertificationRunFactory(factory.django.DjangoModelFactory):
    """A finished, passed run awaiting review; ``results=True`` adds one passing result
    per stage (tests that study one stage's report add their own); ``running=True``, a run
    still going (at its invariants stage, 40%); ``queued=True``, one no worker has started."""

    class Meta:
        model = "certification.CertificationRun"
        skip_postgeneration_save = True

    class Params:
        running = factory.Trait(
            status="running", current_stage="invariants", progress=40, finished_at=None
        )
        queued = factory.Trait(status="queued", progress=0, started_at=None, finished_at=None)

    version = factory.SubFactory(AgentVersionFactory, certified=True)
    tenant = factory.SelfAttribute("version.tenant")
    level = "basic"
    status = "passed"
    progress = 100
    pipeline_version = "test"
    stages = factory.LazyAttribute(lambda o: list(LEVEL_STAGES[o.level]))
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def results(run, create, extracted, **kwargs):
        if not create or not extracted:
            return
        for stage in run.stages:
            CertificationResultFactory(run=run, test_suite=stage)

    @factory.post_generation
    def started(run, create, extracted, **kwargs):
        """A running run's current stage was started by a worker: its attempt (what makes
        the stage ``running`` in ``stage_states``)."""
        if create and run.status == "running" and run.current_stage:
            run.attempts.create(stage=run.current_stage)


class CertificationResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "certification.CertificationResult"

    run = factory.SubFactory(CertificationRunFactory, results=False)
    test_suite = "validation"
    test_result = "pass"
    test_duration_ms = 120
    test_logs = "ok"


def certificate_for(run):
    """A real certificate for a passed run, signed by the platform key ring."""
    from certification.certificates.issuing import issue_certificate

    return issue_certificate(run, list(run.results.all()))


def simulated_certificate(version):
    """A real certificate for ``version`` from a passed standard run simulated on mps2-an386
    (median 380 µs, worst case 420 µs), as the pipeline leaves it; a deployment needs one."""
    run = CertificationRunFactory(
        version=version,
        level="standard",
        stages=["validation", "simulation"],
        pipeline_version="1",
    )
    CertificationResultFactory(
        run=run,
        test_suite="simulation",
        metrics={"board": "mps2-an386", "latency_median_us": 380, "latency_max_us": 420},
    )
    return certificate_for(run)


def approved_certification(version):
    """``version`` as a reviewer leaves it after approving its passed run (a real certificate,
    ``simulated_certificate``): public, its agent listed in the catalogue. Returns the run."""
    from certification.models import CertificationRun
    from marketplace.catalogue import refresh_listing
    from marketplace.models import AgentVersion

    run = simulated_certificate(version).run
    CertificationRun.objects.filter(pk=run.pk).update(review_status="approved")
    AgentVersion.objects.filter(pk=version.pk).update(
        certification_status="certified", review_status="approved"
    )
    refresh_listing(version.agent)
    version.refresh_from_db()
    run.refresh_from_db()
    return run


class DeviceFactory(factory.django.DjangoModelFactory):
    """A customer's registered gateway; its token is unusable (a placeholder hash)."""

    class Meta:
        model = "marketplace.Device"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"gw-{n}")
    hardware_id = factory.Sequence(lambda n: f"factory-hw-{n}")  # never a test's own "hw-1"
    core = "cortex-m4"
    token_prefix = factory.Sequence(lambda n: f"tok{n}")
    token_hash = "0" * 64
    token_created_at = factory.LazyFunction(timezone.now)


class PricePlanFactory(factory.django.DjangoModelFactory):
    """A metered plan of the agent's vendor, in euros; pass ``terms`` (pricing.py's shape),
    or ``kind="one_time"`` with an ``amount``."""

    class Meta:
        model = "marketplace.PricePlan"

    agent = factory.SubFactory(AgentFactory)
    tenant = factory.SelfAttribute("agent.tenant")
    key = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.SelfAttribute("kind")
    kind = "metered"
    currency = "EUR"


class OrderFactory(factory.django.DjangoModelFactory):
    """A completed order of one seat, as checkout leaves it, without going through it."""

    class Meta:
        model = "marketplace.Order"

    plan = factory.SubFactory(PricePlanFactory)
    agent = factory.SelfAttribute("plan.agent")
    tenant = factory.SubFactory(TenantFactory)
    seats = 1
    status = "completed"
    currency = factory.SelfAttribute("plan.currency")
    idempotency_key = factory.Sequence(lambda n: f"order-{n}")
    request_digest = "0" * 64
    completed_at = factory.LazyFunction(timezone.now)


class EntitlementFactory(factory.django.DjangoModelFactory):
    """The entitlement a completed order gives: its tenant, agent, plan (snapshotted) and
    seats, valid from the order's completion."""

    class Meta:
        model = "marketplace.Entitlement"

    order = factory.SubFactory(OrderFactory)
    tenant = factory.SelfAttribute("order.tenant")
    agent = factory.SelfAttribute("order.agent")
    plan = factory.SelfAttribute("order.plan")
    plan_snapshot = factory.LazyAttribute(lambda o: o.plan.snapshot())
    seats = factory.SelfAttribute("order.seats")
    valid_from = factory.SelfAttribute("order.completed_at")


class ReviewFactory(factory.django.DjangoModelFactory):
    """A customer tenant's review of an agent, as ``submit_review`` leaves it (without the
    entitlement it asks for: the tests that need one buy the agent)."""

    class Meta:
        model = "marketplace.Review"

    agent = factory.SubFactory(AgentFactory)
    tenant = factory.SubFactory(TenantFactory)
    stars = 4
    title = "Solid"
    text = "Works on our pumps."


def finalized_sale(customer_tenant, entitlement, month, *, amount, number="EP-2026-000001"):
    """A finalized, open invoice of ``month`` (its first instant, UTC) billing one flat-fee
    line of ``entitlement``'s agent: what a payout statement counts for its vendor."""
    from billing.models import Invoice, InvoiceLine
    from billing.periods import next_month

    end = next_month(month)
    invoice = Invoice.objects.create(
        tenant=customer_tenant,
        currency="EUR",
        period_start=month,
        period_end=end,
        finalize_after=end,
        subtotal=amount,
        total=amount,
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        kind="flat_fee",
        description="monthly fee",
        entitlement=entitlement,
        amount=amount,
        period_start=month,
        period_end=end,
    )
    Invoice.objects.filter(pk=invoice.pk).update(status="open", number=number, finalized_at=end)
    return invoice


def billing_accounts_for(tenants) -> list:
    """One German billing account at 19 % VAT per tenant, in one INSERT (benchmark and fault
    seeds with hundreds of tenants)."""
    return BillingAccount.objects.bulk_create(
        BillingAccount(
            tenant=t,
            legal_name=t.name,
            address_line1="Street 1",
            city="Berlin",
            country="DE",
            tax_rate="19.00",
        )
        for t in tenants
    )


def usage_hours(device, agent, start: datetime, hours: int, *, seconds: int = 3600) -> list:
    """``hours`` consecutive hourly rollup rows of ``device`` running ``agent`` from
    ``start``, ``seconds`` of use each; unsaved, for one bulk INSERT (metering leaves these)."""
    return [
        UsageHour(
            tenant_id=device.tenant_id,
            agent=agent,
            device=device,
            hour=start + timedelta(hours=h),
            seconds=seconds,
        )
        for h in range(hours)
    ]
