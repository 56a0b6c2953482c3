"""Every portal page in Chromium: no console, CSP or HTTP errors, no unresolved template
variable, every form control labelled, the skip link works from the keyboard, and nothing
scrolls sideways from 360 px to 1920 px. With EDGEPLUG_SCREENSHOTS_DIR set (`make
screenshots`), a 1280 px screenshot of each page is written there for the README."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from billing.models import UsageHour
from certification.models import Certificate
from certification.pipeline.actions import expire_lapsed_certifications
from marketplace.plans import create_plan
from tests.browser.runs import passed_run
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import (
    AgentVersionFactory,
    CertificationRunFactory,
    DeviceFactory,
    MembershipFactory,
    OrderFactory,
    ReviewFactory,
    TenantFactory,
    UserFactory,
    VendorKeyFactory,
    VendorTenantFactory,
    WorkflowPackageFactory,
    certificate_for,
    usage_hours,
)
from tests.vendors import VENDOR_SLUG

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = (360, 1280, 1920)

UNLABELLED_CONTROLS = """() => [...document.querySelectorAll(
    'main input:not([type=hidden]), main select, main textarea')]
  .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map(el => el.name)"""

SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth - window.innerWidth"
# The innermost elements sticking out on the right, to say what to fix.
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(el => ![...el.children].some(
    c => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 5).map(el => el.tagName + '.' + el.className + ': ' + el.textContent.slice(0, 40))"""


@pytest.fixture
def vendor_with_history(vendor_admin):
    admin = vendor_admin
    tenant = admin.memberships.get().tenant
    for email, role in (("dev@acme.example", "developer"), ("ops@acme.example", "operator")):
        MembershipFactory(tenant=tenant, user=UserFactory(email=email), role=role)
    key = VendorKeyFactory(tenant=tenant, name="release laptop")
    run = passed_run(agent__tenant=tenant, agent__name="pump-anomaly", version="1.2.0")
    # A reviewer's reason may hold one long unbroken token (a URL): the page wraps it.
    run.review_reason = "Approved, see https://tickets.example/" + "review-notes-" * 20 + "end"
    run.save(update_fields=["review_reason"])
    certificate_for(run)
    lapsed = passed_run(agent=run.version.agent, version="1.1.0")
    Certificate.objects.filter(pk=certificate_for(lapsed).pk).update(
        issued_at=timezone.now() - timedelta(days=3), expires_at=timezone.now() - timedelta(days=1)
    )
    expire_lapsed_certifications()  # what beat runs every 15 minutes
    failed = AgentVersionFactory(
        agent=run.version.agent, version="1.3.0", certification_status="failed", signing_key=key
    )
    CertificationRunFactory(
        version=failed, status="failed", current_stage="invariants", level="standard"
    )
    AgentVersionFactory(
        agent__tenant=tenant,
        agent__name="valve-guard",
        version="0.9.0",
        signing_key=key,
        yanked_at=timezone.now(),
        yank_reason="wrong arena size",
    )
    wpk = WorkflowPackageFactory(
        tenant=tenant,
        name="bottling-line",
        content={"steps": [{"agent": f"{VENDOR_SLUG}/pump-anomaly", "version": ">=1.2.0"}]},
        signing_key=key,
    )
    plan = create_plan(
        run.version.agent,
        key="metered",
        # As long as a name may be (100): its Retire button, the calculator and the page that
        # changes it wrap it.
        name=(
            "Pay as you go for every line of the plant and every shift, graduated by the hour, "
            "ten included"
        ),
        kind="metered",
        currency="USD",
        terms={
            "scheme": "graduated",
            "tiers": [{"up_to": "100", "unit_amount": 10}, {"up_to": None, "unit_amount": 5}],
            "included_hours": "10",
            "flat_fee": 500,
        },
    )
    _seed_sales(run.version.agent, plan)
    _seed_reviews(run.version.agent)
    return {
        "admin": admin,
        "version": run.version,
        "lapsed": lapsed.version,
        "key": key,
        "wpk": wpk,
        "plan": plan,
    }


def _seed_sales(agent, plan) -> None:
    """Four months of a customer's agent-hours and one completed order, as metering and
    commerce leave them (rollup rows, a paid order)."""
    customer = TenantFactory(name="Factory One")
    device = DeviceFactory(tenant=customer, name="line-3")
    this_month = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for months_back, hours in enumerate((30, 12, 20, 8)):
        start = (this_month - timedelta(days=31 * months_back)).replace(day=1)
        UsageHour.objects.bulk_create(usage_hours(device, agent, start, hours))
    OrderFactory(tenant=customer, plan=plan, currency="USD", amount=4900)


def _seed_reviews(agent) -> None:
    """Two customers' reviews, one replied to; text as long as a customer may write it, one
    unbroken token (a URL) among it: the page wraps it, and the reply form fits at 360 px."""
    ReviewFactory(
        agent=agent,
        tenant=TenantFactory(name="Bottling Two"),
        stars=2,
        title="Flags every pump start as an anomaly, " * 3,
        text="See https://tickets.example/" + "pump-start-" * 30 + "end\nOtherwise fine.",
    )
    ReviewFactory(
        agent=agent,
        tenant=TenantFactory(name="Cannery Three"),
        stars=5,
        title="Caught a failing bearing a week early",
        vendor_reply="Thanks! Notes: https://acme.example/" + "release-notes-" * 20 + "end",
        vendor_reply_at=timezone.now(),
    )


def _check_page(journey, name: str, shots: Path | None) -> None:
    page = journey.page
    journey.check()
    assert page.evaluate(UNLABELLED_CONTROLS) == [], f"unlabelled fields on {name}"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate(SIDEWAYS_SCROLL) <= 0, (
            f"{name} scrolls sideways at {width} px: {page.evaluate(STICKING_OUT)}"
        )
    page.set_viewport_size({"width": 1280, "height": 900})
    if shots is not None:
        # The package format reference is long: its first screen shows what it is.
        full = name != "package-format"
        page.screenshot(path=str(shots / f"portal-{name}.png"), full_page=full)


def test_every_portal_page_reads_well_and_works_from_the_keyboard(journey, vendor_with_history):
    target = os.environ.get("EDGEPLUG_SCREENSHOTS_DIR")
    shots = Path(target) if target else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    page = journey.page
    v, wpk = vendor_with_history["version"], vendor_with_history["wpk"]
    lapsed = vendor_with_history["lapsed"]
    plan = vendor_with_history["plan"]

    journey.goto("/portal/sign-in/")
    _check_page(journey, "sign-in", shots)
    portal_sign_in(journey, vendor_with_history["admin"])

    # The first Tab reaches the skip link, and Enter moves focus into the page.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    version_url = f"/portal/agents/{v.agent_id}/versions/{v.version}/"
    pages = {
        "dashboard": "/portal/",
        "keys": "/portal/keys/",
        "key-revoke": f"/portal/keys/{vendor_with_history['key'].key_id}/revoke/",
        "upload": "/portal/upload/",
        "agent": f"/portal/agents/{v.agent_id}/",
        "pricing": f"/portal/agents/{v.agent_id}/pricing/?plan={plan.pk}&hours=150",
        "plan-revise": f"/portal/agents/{v.agent_id}/pricing/{plan.pk}/revise/",
        "plan-retire": f"/portal/agents/{v.agent_id}/pricing/{plan.pk}/retire/",
        "reviews": f"/portal/agents/{v.agent_id}/reviews/",
        "version": version_url,
        "version-expired": f"/portal/agents/{lapsed.agent_id}/versions/{lapsed.version}/",
        "workflows": "/portal/workflows/",
        "workflow": f"/portal/workflows/{wpk.pk}/",
        "team": "/portal/team/",
        "sales": "/portal/sales/",
        "password": "/portal/password/",
        "package-format": "/portal/docs/package-format/",
    }
    for name, path in pages.items():
        journey.goto(path)
        if name == "version":
            page.locator("details.stage-report summary").nth(2).click()
        if name == "version-expired":
            certificate = page.locator("section", has_text="The certificate expired on")
            assert certificate.count() == 1
            assert page.get_by_role("link", name="Download the certificate").count() == 0
            assert page.locator(".badge.cert-expired").inner_text() == "Expired"
        if name == "sales":
            page.wait_for_selector("body[data-charts-drawn=true]")
            assert "49.00 USD" in page.locator("#sales-table").inner_text()
            # The column and the chart count one-time orders only: they were labelled
            # "Revenue", beside payouts counting monthly fees and usage too.
            sales = page.locator("#sales-table")
            assert sales.get_by_role("columnheader", name="One-time sales").count() == 1
            assert page.locator("#revenue-caption").inner_text() == "One-time sales per month"
            with page.expect_download() as download:
                page.get_by_role("link", name="Download CSV").click()
            # Named for the twelve months it holds, the first and the last.
            assert re.fullmatch(
                rf"sales-{VENDOR_SLUG}-\d{{4}}-\d\d--\d{{4}}-\d\d\.csv",
                download.value.suggested_filename,
            ), download.value.suggested_filename
            csv_text = Path(download.value.path()).read_text(encoding="utf-8-sig")
            assert csv_text.startswith("month,agent,agent_hours,customers,currency")
            assert ",USD,4900" in csv_text
        _check_page(journey, name, shots)
    journey.goto("/portal/")
    alerts = page.locator(".alerts").inner_text()
    assert "ended failed at invariants" in alerts
    assert "valve-guard 0.9.0 was yanked" in alerts


def test_the_enrolment_and_not_a_vendor_pages(journey, transactional_db):
    target = os.environ.get("EDGEPLUG_SCREENSHOTS_DIR")
    shots = Path(target) if target else None
    page = journey.page
    from tests.factories import PASSWORD

    admin = UserFactory(email="new-admin@acme.example")
    MembershipFactory(tenant=VendorTenantFactory(), user=admin, role="admin")
    journey.goto("/portal/sign-in/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    journey.click(page.get_by_role("button", name="Sign in"))
    assert page.url.endswith("/portal/enrol/")
    assert not page.locator("figure.qr").count()  # showing the page starts nothing
    journey.click(page.get_by_role("button", name="Start"))
    assert page.url.endswith("/portal/enrol/")
    assert page.locator("figure.qr svg").is_visible()
    _check_page(journey, "enrol", shots)
    journey.click(page.get_by_role("button", name="Sign out"))

    customer = UserFactory(email="buyer@factory.example")
    MembershipFactory(tenant=TenantFactory(), user=customer, role="admin")
    journey.expect_status(403, "/portal/sign-in/")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(PASSWORD)
    journey.click(page.get_by_role("button", name="Sign in"))
    assert "This portal is for vendors" in page.locator("h1").inner_text()
    _check_page(journey, "not-a-vendor", shots)
