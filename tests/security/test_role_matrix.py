"""The role part of the matrix (docs/roles.md), generated from the URL configuration: every
/api/v1 route and method, called by each tenant role (admin, developer, operator, billing)
of a tenant that is both vendor and customer, is refused (403, or 401 where only a device
token or staff may call) exactly for the roles ``ROLE_MATRIX`` refuses. Ids name no object:
the role check comes first, so a role that may act gets 404 or a validation error instead.
Routes that check the role only once they hold the object get one of the caller's own.
A route or method missing from ``ROLE_MATRIX`` fails the test.
"""

import pytest
from django.urls import reverse

from tests.factories import AgentFactory, TenantFactory
from tests.security.test_tenant_matrix import MISSING, ROUTES

pytestmark = pytest.mark.django_db

ROLES = ("admin", "developer", "operator", "billing")
ANY_MEMBER = frozenset(ROLES)
TENANT_ADMIN = frozenset({"admin"})
PUBLISHER = frozenset({"admin", "developer"})  # of a vendor tenant
BUYER = frozenset({"admin", "billing"})  # orders, saved cards, invoices, payout statements
DEVICES = frozenset({"admin", "operator"})
USAGE_READER = frozenset({"admin", "operator", "billing"})
REVIEW_WRITER = frozenset({"admin", "developer", "operator"})
NO_TENANT_ROLE = frozenset()  # a device token or platform staff only

_GROUPS = {
    ANY_MEMBER: [
        ("agent-detail", "delete"),  # the vendor's own agent; refused to operator and billing
        ("agent-detail", "get"),
        ("agent-list", "get"),
        ("agent-reviews", "get"),
        ("agent-version", "get"),
        ("agent-version-bundle", "get"),
        ("agent-version-certificate", "get"),
        ("agent-version-download", "get"),
        ("auth-logout", "post"),
        ("auth-me", "get"),
        ("auth-token", "post"),
        ("auth-token-refresh", "post"),
        ("auth-totp-confirm", "post"),
        ("auth-totp-enrol", "post"),
        ("certification-queue", "get"),
        ("certification-run", "get"),
        ("certification-run-certificate", "get"),
        ("entitlement-detail", "get"),
        ("entitlements", "get"),
        ("manifest-schema", "get"),
        ("schema", "get"),
        ("stripe-webhook", "post"),
        ("swagger-ui", "get"),
        ("wpk-list", "get"),
    ],
    PUBLISHER: [
        ("agent-certify", "put"),
        ("agent-review-reply", "post"),
        ("agent-upload", "post"),
        ("agent-version-yank", "post"),
        ("certification-submit", "post"),
        ("vendor-agent-plan", "get"),
        ("vendor-agent-plan", "patch"),
        ("vendor-agent-plan-retire", "post"),
        ("vendor-agent-plans", "get"),
        ("vendor-agent-plans", "post"),
        ("vendor-key-revoke", "post"),
        ("vendor-keys", "get"),
        ("vendor-keys", "post"),
        ("vendor-usage", "get"),
        ("wpk-upload", "post"),
    ],
    BUYER: [
        ("entitlement-cancel", "post"),
        ("entitlement-resume", "post"),
        ("order-detail", "get"),
        ("orders", "get"),
        ("orders", "post"),
        ("payment-method-default", "post"),
        ("payment-method-detail", "delete"),
        ("payment-method-setup", "post"),
        ("payment-methods", "get"),
        ("payment-methods", "post"),
        ("billing-account", "get"),
        ("billing-account", "put"),
        ("invoice-detail", "get"),
        ("invoice-pdf", "get"),
        ("invoice-pay", "post"),
        ("invoice-upcoming", "get"),
        ("invoices", "get"),
        ("vendor-payout", "get"),
        ("vendor-payout-csv", "get"),
        ("vendor-payouts", "get"),
    ],
    DEVICES: [
        ("device-deployment", "delete"),
        ("device-deployments", "get"),
        ("device-deployments", "post"),
        ("device-detail", "get"),
        ("device-revoke", "post"),
        ("device-rotate-token", "post"),
        ("device-usage-gaps", "get"),
        ("devices", "get"),
        ("devices", "post"),
    ],
    TENANT_ADMIN: [
        ("tenant-audit-events", "get"),
        ("tenant-members-detail", "delete"),
        ("tenant-members-detail", "get"),
        ("tenant-members-detail", "patch"),
        ("tenant-members-list", "get"),
        ("tenant-members-list", "post"),
    ],
    USAGE_READER: [("usage", "get")],
    REVIEW_WRITER: [("agent-reviews", "post")],
    NO_TENANT_ROLE: [
        ("device-assignments", "get"),  # the device's token
        ("usage-events", "post"),  # the device's token
        ("wpk-review", "post"),  # reviewers (platform staff)
    ],
}
ROLE_MATRIX = {key: roles for roles, keys in _GROUPS.items() for key in keys}
# Checked once the object is loaded (a missing id is 404 for every role): the probe uses an
# object of the caller's own tenant, and the expected roles here instead of ANY_MEMBER.
ON_OWN_OBJECT = {("agent-detail", "delete"): PUBLISHER}


def _own_object_url(name: str, tenant) -> str:
    assert name == "agent-detail"
    return reverse(name, kwargs={"pk": AgentFactory(tenant=tenant).pk})


def test_every_route_and_method_has_a_row():
    routes = {(name, method) for name, route in ROUTES.items() for method in route.methods}
    assert routes == set(ROLE_MATRIX)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_exactly_what_the_matrix_refuses(member_client, role):
    tenant = TenantFactory(is_vendor=True, is_customer=True)
    client, _ = member_client(role, tenant=tenant)
    wrong = []
    for (name, method), allowed in sorted(ROLE_MATRIX.items()):
        if (name, method) in ON_OWN_OBJECT:
            allowed = ON_OWN_OBJECT[(name, method)]
            url = _own_object_url(name, tenant)
        else:
            url = reverse(name, kwargs=dict.fromkeys(ROUTES[name].kwargs, MISSING))
        response = getattr(client, method)(url, {}, format="json")
        refused = response.status_code in (401, 403)
        if refused == (role in allowed):
            wrong.append(f"{method.upper()} {name}: {response.status_code}")
        elif refused and response.status_code == 403:
            assert response.json()["code"] in ("permission_denied", "mfa_required"), url
    assert not wrong, f"{role}: " + "; ".join(wrong)
