"""At 1280 x 800 every column of the admin's busiest lists is in sight, beside the navigation
and the filters, without scrolling sideways. A QA walk found the results about 630 px wide
and the last columns out of sight: the orders' plan, seats, amount and status, the audit
log's actor, tenant, target and IP, the access attempts' username and failed logins, the
certification runs' created. The rows hold what the demo and a QA walk hold: slugs, e-mails,
request paths, a browser's user agent."""

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from edgeplug.audit.models import AuditEvent
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    CertificationRunFactory,
    OrderFactory,
    PricePlanFactory,
    TenantFactory,
    VendorTenantFactory,
)

pytestmark = [pytest.mark.browser]

USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36"
)
LISTS = {
    "/admin/marketplace/order/": ["Tenant", "Agent", "Plan", "Seats", "Amount", "Status"],
    "/admin/audit/auditevent/": ["Actor email", "Tenant", "Target", "Ip"],
    "/admin/axes/accessattempt/": ["Username", "Failed logins", "Status"],
    "/admin/certification/certificationrun/": ["Version", "Review", "Created"],
}


@pytest.fixture
def rows(transactional_db):
    vendor = VendorTenantFactory(slug="acme-sensors", name="Acme Sensors (demo vendor)")
    customer = TenantFactory(slug="globex-factory", name="Globex Factory (demo customer)")
    agent = AgentFactory(tenant=vendor, name="vibration-anomaly-detector")
    plan = PricePlanFactory(agent=agent, key="site-licence", kind="one_time", amount=4900)
    OrderFactory(plan=plan, tenant=customer, seats=12, amount=58800)
    version = AgentVersionFactory(agent=agent, version="1.12.0-rc.1")
    CertificationRunFactory(version=version, tenant=vendor, status="passed")
    AuditEvent.objects.create(
        action="permission_denied",
        target="POST /admin/billing/invoice/1234/finalize/",
        tenant=customer,
        actor_email="customer-billing@globex-factory.example",
        ip="2001:db8:85a3::8a2e:370:7334",
    )
    AccessAttempt.objects.create(
        username="customer-billing@globex-factory.example",
        ip_address="2001:db8:85a3::8a2e:370:7334",
        user_agent=USER_AGENT,
        path_info="/admin/login/",
        failures_since_start=3,
        get_data="",
        post_data="",
        attempt_time=timezone.now(),
    )


def test_the_busiest_lists_show_every_column_at_1280_px(journey, superuser, rows):
    page = journey.page
    page.set_viewport_size({"width": 1280, "height": 800})
    journey.sign_in(superuser)

    for path, key_columns in LISTS.items():
        journey.goto(path)
        headers = " ".join(page.locator("#result_list thead th").all_inner_texts()).split()
        assert all(name.upper() in " ".join(headers) for name in key_columns), (path, headers)
        assert journey.hidden_column_headers() == [], path
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, path
        assert page.locator("#result_list tbody tr").count() >= 1, path
