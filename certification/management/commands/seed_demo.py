"""manage.py seed_demo: demo tenants, users and a certified, priced agent, so a new user can
try EdgePlug at once (docs/commerce.md walks through buying it).

The agent is the example agent (certification/example_agent.py) signed with a fresh demo key,
uploaded, certified at the standard level by the real pipeline (its Celery canvas run in this
process: the worker may not be up yet), approved by the demo reviewer, and offered with a
one-time and a metered price plan. Every step is the action the API and admin call.

Safe to run again: it keeps what exists (an agent already published is left as it is; a demo
user as an operator left it: deactivated, out of a group or a tenant, without its device) and
gives every active demo user a fresh random password (audited as ``password_changed``),
printed and written to var/demo-credentials.json (readable by the owner only). Users are
made by the action ``manage.py adduser`` calls (``user_created``), staff devices by TOTP
enrolment (``mfa_enrolment_started``, ``mfa_enrolled``), memberships by ``add_member``.
"""

import contextlib
import json
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from certification.example_agent import example_files
from certification.models import CertificationRun, Level, RunStatus
from certification.pipeline import actions as certification
from edgeplug import signing
from edgeplug.accounts import services as accounts
from edgeplug.accounts.models import User
from edgeplug.celery import app as celery_app
from edgeplug.errors import DomainError
from edgeplug.secret_files import write_owner_only
from edgeplug.tenancy.models import Membership, Role, StaffGroup, Tenant
from edgeplug.tenancy.services import add_member, create_tenant
from marketplace import plans
from marketplace.models import AgentVersion, CertificationStatus, PricePlan, ReviewStatus
from marketplace.packageformat.pack import build_archive
from marketplace.powers import PUBLISH
from marketplace.services import register_key, upload_package

VENDOR = "acme-sensors"
DEMO_TENANTS = [
    {
        "slug": VENDOR,
        "name": "Acme Sensors (demo vendor)",
        "is_vendor": True,
        "is_customer": False,
    },
    {
        "slug": "globex-factory",
        "name": "Globex Factory (demo customer)",
        "is_vendor": False,
        "is_customer": True,
    },
]
VENDOR_EMAIL = "vendor@demo.edgeplug.example"
REVIEWER_EMAIL = "reviewer@demo.edgeplug.example"
DEMO_DEVICE = "demo"  # the staff users' TOTP device, its otpauth URL printed
DEMO_USERS = [
    {"email": VENDOR_EMAIL, "tenant": VENDOR, "role": Role.ADMIN},
    {"email": "customer@demo.edgeplug.example", "tenant": "globex-factory", "role": Role.ADMIN},
    {"email": REVIEWER_EMAIL, "group": StaffGroup.REVIEWERS},
    {"email": "finance@demo.edgeplug.example", "group": StaffGroup.FINANCE},
]

DEMO_AGENT = "sensor-guard"
DEMO_VERSION = "1.0.0"
DEMO_LEVEL = Level.STANDARD
# The metered plan's monthly fee makes every month's invoice at least EUR 5.00 (plus VAT): with
# only usage beyond the included hours, a demo month came to cents, below the smallest charge
# the card processor takes (billing.charge_minimums), and could not be paid by card.
DEMO_PLANS = [
    {
        "key": "site-licence",
        "name": "Site licence (one-time, per device)",
        "kind": "one_time",
        "currency": "EUR",
        "amount": 4900,
    },
    {
        "key": "pay-as-you-run",
        "name": "Pay as you run (EUR 5.00 a month, 20 agent-hours included)",
        "kind": "metered",
        "currency": "EUR",
        "terms": {
            "scheme": "graduated",
            "tiers": [
                {"up_to": "100", "unit_amount": 5, "flat_amount": 0},
                {"up_to": None, "unit_amount": 2, "flat_amount": 0},
            ],
            "included_hours": "20",
            "flat_fee": 500,
            "monthly_minimum": 0,
        },
    },
]


def _acting(user: User) -> User:
    """The demo user the command acts for, unless an operator deactivated them (a rerun leaves
    them so): a deactivated account acts nowhere (``401 user_inactive`` at every door), so
    nothing is uploaded, certified or priced in their name."""
    if not user.is_active:
        raise CommandError(
            f"{user.email} is deactivated: the demo agent is not uploaded, certified or priced "
            "in their name; reactivate them and run seed_demo again."
        )
    return user


def _publisher(vendor: Tenant, developer: User) -> User:
    """The demo vendor's developer, to upload, certify and price in their name, only where
    the API and the portal would let them: active (``_acting``), and a member of the active
    vendor tenant with a role that publishes there (``PUBLISH``). An operator may have left
    them otherwise (a rerun keeps that), or the slug may be their own customer tenant
    (``_users`` keeps a tenant that exists): the command stops before writing anything, saying
    what to change."""
    _acting(developer)
    again = "and run seed_demo again"
    if not vendor.is_vendor:
        raise CommandError(
            f"{VENDOR} is not a vendor tenant (not_a_vendor): the demo agent cannot be published "
            f"there. Tick “Is vendor” on the tenant {VENDOR} in the admin {again}, or seed the "
            "demo on a database of its own."
        )
    if not vendor.is_active:
        raise CommandError(
            f"{VENDOR} is deactivated: nothing is published in its name. Reactivate it in the "
            f"admin {again}."
        )
    membership = Membership.objects.live().filter(tenant=vendor, user=developer).first()
    if membership is None or not PUBLISH.held(vendor, membership.role):
        standing = "no member" if membership is None else f"a {membership.role} member"
        raise CommandError(
            f"{developer.email} is {standing} of {VENDOR}, where only admins and developers "
            "publish: the demo agent is not uploaded, certified or priced in their name. Make "
            f"them a developer or admin of {VENDOR} again (the admin's memberships) {again}."
        )
    return developer


@contextlib.contextmanager
def _refusal_said(what: str):
    """A refusal of an action (a ``DomainError``, which the API answers with its code) said as
    a ``CommandError``: ``what`` failed, the code and why; not a traceback."""
    try:
        yield
    except DomainError as exc:
        raise CommandError(f"{what} ({exc.code}: {exc.detail}).") from exc


def _missing(what: str) -> CommandError:
    return CommandError(
        f"There is no {what} yet: the demo agent is published by the demo users. Run "
        "`manage.py seed_demo --part users` (or plain seed_demo) first."
    )


def _demo_user(email: str) -> User:
    user = User.objects.with_email(email).first()
    if user is None:
        raise _missing(f"demo user {email}")
    return user


def _demo_version() -> AgentVersion | None:
    return AgentVersion.objects.filter(
        tenant__slug=VENDOR, agent__name=DEMO_AGENT, version=DEMO_VERSION
    ).first()


class Command(BaseCommand):
    help = (
        "Create demo tenants and users (vendor, customer, reviewer, finance) and a certified "
        "agent with price plans; print logins."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--part",
            choices=("all", "users", "agent"),
            default="all",
            help="users: the sign-ins only (seconds); agent: the certified, priced agent only, "
            "once users has run (certifying takes a while); all: both (default)",
        )

    def handle(self, *args, part="all", **options):
        try:
            if part in ("all", "users"):
                self._write_users()
            if part in ("all", "agent"):
                self._agent()
                self.stdout.write(self.style.SUCCESS("Demo agent certified, approved and priced."))
        except KeyboardInterrupt:  # Ctrl-C, on its own or on `make run`: said, not a traceback
            raise CommandError(self._stopped(), returncode=130) from None

    def _stopped(self) -> str:
        """What a seed stopped midway left, once the demo run it was certifying is ended (its
        canvas ran in this process, so nothing else would carry it on)."""
        version = _demo_version()
        ended = self._end_stopped_runs(version) if version else []
        return "".join(
            [
                "Stopped before the demo data was complete.",
                *(
                    f" Run {run.pk} of the demo agent ends as an error (run_interrupted)."
                    for run in ended
                ),
                " The next seed_demo (or make run) completes it.",
            ]
        )

    def _write_users(self) -> None:
        credentials = self._users()
        path = settings.VAR_DIR / "demo-credentials.json"
        # Printed before the file is written: the passwords are in force (committed), and a
        # disk too full for the file must not lose them.
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign-ins:"))
        for entry in credentials:
            where = entry.get("tenant") or f"staff: {entry['staff_group']}"
            if entry.get("deactivated"):
                self.stdout.write(f"  {entry['email']:34} deactivated: left so, no password")
                continue
            self.stdout.write(f"  {entry['email']:34} {entry['password']:18} ({where})")
            if "totp_url" in entry:
                self.stdout.write(f"    TOTP for the admin: {entry['totp_url']}")
        try:
            write_owner_only(path, json.dumps(credentials, indent=2))
        except OSError as exc:
            raise CommandError(
                f"The sign-ins above were not written to {path} ({exc.strerror or exc}): they "
                "are the only copy of the new passwords, and a file left there from an earlier "
                "run is out of date."
            ) from None
        self.stdout.write(f"Also written to {path} (readable by you only)")

    @transaction.atomic
    def _users(self) -> list[dict]:
        for spec in DEMO_TENANTS:  # through the tenancy actions, audited; kept if they exist
            if not Tenant.objects.filter(slug=spec["slug"]).exists():
                create_tenant(**spec)
        return [self._user(spec) for spec in DEMO_USERS]

    def _user(self, spec: dict) -> dict:
        """A demo user made as ``adduser`` makes one, or one that exists left as an operator
        left it (active or not, its groups, memberships and devices) but for a fresh password,
        audited; a deactivated one gets none."""
        entry: dict = {"email": spec["email"]}
        if "tenant" in spec:
            entry.update(tenant=spec["tenant"], role=spec["role"].value)
        else:
            entry.update(staff_group=spec["group"].value)
        password = secrets.token_urlsafe(12)
        user = User.objects.with_email(spec["email"]).first()
        if user is None:
            user = self._create_user(spec, password)
        elif not user.is_active:
            entry["deactivated"] = True
            return entry
        else:
            accounts.change_password(user, password)
        entry["password"] = password
        device = TOTPDevice.objects.filter(user=user, name=DEMO_DEVICE, confirmed=True).first()
        if device is not None:
            entry["totp_url"] = device.config_url
        return entry

    def _create_user(self, spec: dict, password: str) -> User:
        if "tenant" in spec:
            user = accounts.create_user(spec["email"], password=password)
            add_member(Tenant.objects.get(slug=spec["tenant"]), user, spec["role"])
            return user
        user = accounts.create_user(
            spec["email"], password=password, staff_groups=(spec["group"].value,)
        )
        # Staff must use TOTP in the admin: a device enrolled as a person enrols one (the
        # command holds its key, as their authenticator app would), to scan from the output.
        enrolment = accounts.start_totp_enrolment(user, code_verified=False, name=DEMO_DEVICE)
        device = TOTPDevice.objects.get(pk=enrolment.device_id)
        code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
        accounts.confirm_totp_enrolment(
            user, f"{code:0{device.digits}d}", code_verified=False, device_id=enrolment.device_id
        )
        return user

    def _agent(self) -> None:
        vendor = Tenant.objects.filter(slug=VENDOR).first()
        if vendor is None:
            raise _missing(f"tenant {VENDOR}")
        developer = _demo_user(VENDOR_EMAIL)
        with _refusal_said(f"{VENDOR_EMAIL} cannot publish the demo agent in {VENDOR}"):
            version = self._published(vendor, developer)
        if version.review_status != ReviewStatus.APPROVED:
            run = CertificationRun.objects.filter(version=version).order_by("-pk").first()
            reviewer = _demo_user(REVIEWER_EMAIL)
            # Refused (check_reviewer) when an operator deactivated the demo reviewer or took
            # them out of `reviewers`: said, not a traceback.
            try:
                certification.review_run(
                    run,
                    approve=True,
                    reason="Demo agent: the example sensor classifier, certified by the pipeline.",
                    reviewer=reviewer,
                )
            except DomainError as exc:
                remedy = (
                    "put them back in the reviewers group"
                    if reviewer.is_active
                    else "reactivate them"
                )
                raise CommandError(
                    f"{REVIEWER_EMAIL} cannot approve the demo agent ({exc.code}: {exc.detail}); "
                    f"{remedy}, or approve run {run.pk} in the admin."
                ) from exc
        with _refusal_said(f"{VENDOR_EMAIL} cannot price the demo agent"):
            for spec in DEMO_PLANS:
                if not PricePlan.objects.filter(agent=version.agent, key=spec["key"]).exists():
                    plans.create_plan(version.agent, actor=_publisher(vendor, developer), **spec)
        self.stdout.write(
            f"Demo agent {DEMO_AGENT} {DEMO_VERSION} (id {version.agent_id}) is certified "
            f"({DEMO_LEVEL}) and for sale: " + ", ".join(spec["key"] for spec in DEMO_PLANS)
        )

    def _published(self, vendor: Tenant, developer: User) -> AgentVersion:
        """The demo version, uploaded and certified in the developer's name if it is not yet."""
        version = _demo_version()
        if version is None:
            version = self._upload(vendor, _publisher(vendor, developer))
        if version.certification_status != CertificationStatus.CERTIFIED:
            self._certify(version, _publisher(vendor, developer))
            version.refresh_from_db()
        return version

    def _upload(self, vendor: Tenant, developer: User) -> AgentVersion:
        # A demo key whose private half is used once and forgotten: the vendor registers
        # their own key to upload further versions (docs/cli.md).
        keys = signing.generate_keypair()
        key = register_key(
            vendor, signing.encode_b64(keys.public_key), name="seed_demo", actor=developer
        )
        data = build_archive(example_files(VENDOR, DEMO_AGENT, DEMO_VERSION))
        signature = signing.encode_b64(signing.sign_package(keys.private_key, data))
        return upload_package(vendor, data, signature, key.key_id, actor=developer).version

    @staticmethod
    def _end_stopped_runs(version: AgentVersion) -> list[CertificationRun]:
        """Ends the demo version's active runs: their canvas ran in a seed_demo that was
        stopped, so nothing carries them on. The runs it ended, as they were found."""
        why = "the seed_demo that ran it was stopped; the next seed_demo certifies anew"
        return [
            run
            for run in CertificationRun.objects.active().filter(version=version)
            if certification.end_interrupted_run(run, why)
        ]

    def _certify(self, version: AgentVersion, developer: User) -> None:
        self.stdout.write(f"Certifying the demo agent at the {DEMO_LEVEL} level …")
        # A run of the demo version still active was left by a seed_demo killed while it
        # certified (a Ctrl-C ends its run below; SIGKILL or a power cut cannot): its canvas
        # ran in that process, so nothing carries it on, and it would refuse a new run until
        # the sweeper's limit.
        for stranded in self._end_stopped_runs(version):
            self.stdout.write(
                f"Run {stranded.pk} was left {stranded.status} by a seed_demo that was "
                "stopped: it ends as an error (run_interrupted) and a new run starts."
            )
        celery_app.loader.import_default_modules()  # registers the tasks the canvas names
        previous = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        try:
            run = certification.submit_for_certification(version, DEMO_LEVEL, actor=developer)
        finally:
            celery_app.conf.task_always_eager = previous
        run.refresh_from_db()
        if run.status != RunStatus.PASSED:
            stages = {r.test_suite: r.test_result for r in run.results.all()}
            raise CommandError(
                f"The demo agent did not pass certification (run {run.pk}: {run.status}, "
                f"{run.error_detail or stages})."
            )
