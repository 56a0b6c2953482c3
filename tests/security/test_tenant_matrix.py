"""The tenant matrix, generated from the URL configuration rather than hand-listed: every
/api/v1/ route and method is either on the explicit public list or refuses an anonymous
caller with 401, and every route that names an object answers 404 when another tenant's
credentials point it at tenant A's object (staff-only routes are refused by role, 403).

A route added to the API without being classified here fails
``test_every_api_route_is_classified``: decide whether it is public and what object it
names, and add it to the lists below.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.models import PaymentMethod
from marketplace.models import AgentVersion, Entitlement, Review
from tests.commerce.conftest import buy_free
from tests.factories import CertificationRunFactory, TenantFactory, finalized_sale
from tests.vendors import package

pytestmark = pytest.mark.django_db

API_PREFIX = "api/v1/"
IGNORED_METHODS = {"options", "head", "trace"}
MISSING = 999999  # an id no object has

# (route name, method) that an anonymous caller may use, and why.
PUBLIC = {
    ("auth-token", "post"): "signing in",
    ("auth-token-refresh", "post"): "the refresh token in the body is the credential",
    ("auth-logout", "post"): "the refresh token in the body is the credential",
    ("manifest-schema", "get"): "the published package format",
    ("agent-list", "get"): "the public catalogue",
    ("agent-detail", "get"): "the public catalogue (a private agent is still 404)",
    ("agent-reviews", "get"): "the public catalogue: an agent's reviews",
    ("agent-version", "get"): "the public catalogue: a version its agent's page lists",
    ("agent-version-certificate", "get"): "the public catalogue: that version's certificate",
    ("stripe-webhook", "post"): "authenticated by the Stripe signature, not a user",
    ("schema", "get"): "the OpenAPI document",
    ("swagger-ui", "get"): "the API docs page",
}

# Routes that take no object id: authentication is all the matrix asks of them (their
# results are scoped lists; the list tests of each app check what they contain).
COLLECTIONS = {
    "auth-token",
    "auth-token-refresh",
    "auth-logout",
    "auth-me",
    "auth-totp-enrol",
    "auth-totp-confirm",
    "tenant-audit-events",
    "tenant-members-list",
    "manifest-schema",
    "wpk-upload",
    "wpk-list",
    "vendor-keys",
    "orders",
    "entitlements",
    "devices",
    "device-assignments",
    "usage-events",
    "usage",
    "vendor-usage",
    "vendor-payouts",
    "agent-upload",
    "agent-list",
    "certification-submit",
    "certification-queue",
    "payment-methods",
    "payment-method-setup",
    "invoices",
    "invoice-upcoming",
    "billing-account",
    "stripe-webhook",
    "schema",
    "swagger-ui",
}

# Routes whose object belongs to a tenant: tenant B on tenant A's object answers 404 for
# every method. The value names the kwargs, filled from tenant A's objects below. Catalogue
# routes (agents, versions, reviews, certificates) are pointed at A's *unpublished* agent,
# which another tenant must not be able to tell from a missing one.
JANUARY = datetime(2026, 1, 1, tzinfo=UTC)  # a finalized invoice of this month
OWNED = {
    "tenant-members-detail": {"pk": "membership"},
    "vendor-key-revoke": {"key_id": "key_id"},
    "vendor-agent-plans": {"agent_id": "public_agent"},
    "vendor-agent-plan": {"agent_id": "public_agent", "plan_id": "plan"},
    "vendor-agent-plan-retire": {"agent_id": "public_agent", "plan_id": "plan"},
    "order-detail": {"pk": "order"},
    "entitlement-detail": {"pk": "entitlement"},
    "entitlement-cancel": {"pk": "entitlement"},
    "entitlement-resume": {"pk": "entitlement"},
    "device-detail": {"pk": "device"},
    "device-rotate-token": {"pk": "device"},
    "device-revoke": {"pk": "device"},
    "device-deployments": {"pk": "device"},
    "device-usage-gaps": {"pk": "device"},
    "device-deployment": {"pk": "device", "deployment_id": "deployment"},
    "agent-reviews": {"agent_id": "private_agent"},
    "agent-review-reply": {"agent_id": "public_agent", "review_id": "review"},
    "agent-detail": {"pk": "private_agent"},
    "agent-version": {"agent_id": "private_agent", "version": "private_version"},
    "agent-version-download": {"agent_id": "private_agent", "version": "private_version"},
    "agent-version-bundle": {"agent_id": "private_agent", "version": "private_version"},
    "agent-version-yank": {"agent_id": "private_agent", "version": "private_version"},
    "agent-version-certificate": {"agent_id": "private_agent", "version": "private_version"},
    "certification-run": {"pk": "run"},
    "certification-run-certificate": {"pk": "run"},
    "agent-certify": {"pk": "private_agent"},
    "payment-method-detail": {"pk": "payment_method"},
    "payment-method-default": {"pk": "payment_method"},
    "invoice-detail": {"pk": "invoice"},
    "invoice-pdf": {"pk": "invoice"},
    "invoice-pay": {"pk": "invoice"},
    # A vendor's statement of a month it sold in; another vendor has none for it (404).
    "vendor-payout": {"period": "payout_period"},
    "vendor-payout-csv": {"period": "payout_period"},
}

# Public catalogue objects: what another tenant may see of tenant A's published agent.
PUBLIC_CATALOGUE = {
    "agent-detail": {"pk": "public_agent"},
    "agent-reviews": {"agent_id": "public_agent"},
    "agent-version": {"agent_id": "public_agent", "version": "public_version"},
    "agent-version-certificate": {"agent_id": "public_agent", "version": "public_version"},
}

# Routes that act on objects of every tenant for platform staff: a tenant's credentials are
# refused by role before any object is looked up.
STAFF_ONLY = {"wpk-review": {"pk": "missing"}}


@dataclass(frozen=True)
class Route:
    name: str
    kwargs: tuple[str, ...]
    methods: tuple[str, ...]


def _walk(patterns, prefix="", kwargs=()):
    """(path, pattern, kwarg names) of each route; an include()'s prefix captures kwargs too."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = prefix + str(pattern.pattern)
            yield from _walk(pattern.url_patterns, inner, kwargs + _kwarg_names(pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern, kwargs + _kwarg_names(pattern)


def _kwarg_names(pattern: URLPattern | URLResolver) -> tuple[str, ...]:
    converters = getattr(pattern.pattern, "converters", None)
    if converters:
        return tuple(converters)
    return tuple(pattern.pattern.regex.groupindex)


def _methods(pattern: URLPattern) -> tuple[str, ...]:
    callback = pattern.callback
    if getattr(callback, "actions", None):  # a DRF viewset route
        return tuple(sorted(callback.actions))
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view is None:  # a function view: the API's are GET-only
        return ("get",)
    return tuple(m for m in view.http_method_names if m not in IGNORED_METHODS and hasattr(view, m))


def api_routes() -> dict[str, Route]:
    routes = {}
    for path, pattern, kwargs in _walk(get_resolver().url_patterns):
        if path.startswith(API_PREFIX):
            assert pattern.name and pattern.name not in routes, f"unnamed or duplicate: {path}"
            routes[pattern.name] = Route(pattern.name, kwargs, _methods(pattern))
    return routes


ROUTES = api_routes()


def test_every_api_route_is_classified():
    with_ids = {name for name, route in ROUTES.items() if route.kwargs}
    without_ids = set(ROUTES) - with_ids
    assert with_ids == set(OWNED) | set(STAFF_ONLY), "an id route is in neither list"
    assert without_ids == COLLECTIONS, "a route without ids is not listed in COLLECTIONS"
    assert not set(OWNED) & set(STAFF_ONLY)
    assert set(PUBLIC_CATALOGUE) <= set(OWNED)
    for name, kwargs in {**OWNED, **STAFF_ONLY, **PUBLIC_CATALOGUE}.items():
        assert set(kwargs) == set(ROUTES[name].kwargs), name
    for name, method in PUBLIC:
        assert method in ROUTES[name].methods, (name, method)


def test_the_matrix_covers_the_api_it_claims_to():
    # A guard against the walk silently finding nothing (a renamed prefix, a changed resolver).
    assert len(ROUTES) >= 50
    assert sum(len(r.methods) for r in ROUTES.values()) >= 60


def _call(client, method: str, url: str, body=None):
    return getattr(client, method)(url, body or {}, format="json")


# A body every write refuses (an unknown field, a value of no field's type): another tenant's
# object must still be a 404, the lookup first, so a refusal of the body tells nothing.
BAD_BODY = {"level": "bogus", "reason": "", "unexpected": ["x"]}


def _url(name: str, kwargs: dict[str, str], objects: dict) -> str:
    return reverse(name, kwargs={k: objects[v] for k, v in kwargs.items()})


@pytest.fixture
def objects(vendor, published, agent, make_plan, customer, certificate):
    """Tenant A's objects: a vendor with a published and an unpublished agent, a plan, a run;
    a customer that bought the plan, reviewed the agent, registered a device, deployed to it
    and saved a card; and the memberships and key that hold it together."""
    customer_client, customer_membership = customer
    order = buy_free(customer_client, agent, make_plan)
    entitlement = Entitlement.objects.get(tenant=customer_membership.tenant)
    reviewed = customer_client.post(
        f"/api/v1/agents/{agent.pk}/reviews",
        {"stars": 4, "title": "ok", "text": "ok"},
        format="json",
    )
    assert reviewed.status_code == 201, reviewed.json()
    device = customer_client.post(
        "/api/v1/devices",
        {"name": "hw-1", "hardware_id": "hw-1", "core": "cortex-m4"},
        format="json",
    )
    assert device.status_code == 201, device.json()
    device_id = device.json()["device"]["id"]
    deployment = customer_client.post(
        f"/api/v1/devices/{device_id}/deployments",
        {"agent": agent.pk, "version": published.version},
        format="json",
    )
    assert deployment.status_code == 201, deployment.json()
    private = vendor.upload(package("2.0.0", name="unlisted-agent"))
    assert private.status_code == 201, private.json()
    private_version = AgentVersion.objects.get(pk=private.json()["version"]["id"])
    payment_method = PaymentMethod.objects.create(
        tenant=customer_membership.tenant, stripe_id="pm_tenant_a", brand="visa", last4="4242"
    )
    invoice = finalized_sale(customer_membership.tenant, entitlement, JANUARY, amount=1000)
    payout_period = "2026-01"
    return {
        "invoice": invoice.pk,
        "membership": customer_membership.pk,
        "key_id": vendor.key.key_id,
        "public_agent": agent.pk,
        "public_version": published.version,
        "private_agent": private_version.agent_id,
        "private_version": private_version.version,
        "plan": make_plan("free", key="second-plan").pk,
        "order": order["id"],
        "entitlement": entitlement.pk,
        "device": device_id,
        "deployment": deployment.json()["id"],
        "review": Review.objects.get(agent=agent).pk,
        "run": CertificationRunFactory(version=private_version).pk,
        "payment_method": payment_method.pk,
        "payout_period": payout_period,
        "missing": MISSING,
    }


@pytest.fixture
def tenant_b(member_client):
    """Tenant B: an admin of a tenant that both sells and buys, so no role check stands
    between its credentials and the object lookup."""
    client, _ = member_client("admin", tenant=TenantFactory(is_vendor=True, is_customer=True))
    return client


def test_anonymous_callers_get_401_except_on_the_public_list(api, settings):
    # Every route from one address: more than its anonymous budget (60/min), which a request
    # refused 401 spends too (docs/security.md).
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], anon="10000/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    refused = []
    for name, route in ROUTES.items():
        kwargs = dict.fromkeys(route.kwargs, MISSING)
        url = reverse(name, kwargs=kwargs)
        for method in route.methods:
            status = _call(api, method, url).status_code
            if (name, method) in PUBLIC:
                assert status != 401, (name, method)
            elif status != 401:
                refused.append((name, method, status))
    assert refused == []


def test_tenant_b_gets_404_on_every_object_of_tenant_a(tenant_b, objects):
    leaks = []
    for name, kwargs in OWNED.items():
        url = _url(name, kwargs, objects)
        for method in ROUTES[name].methods:
            for body in ({}, BAD_BODY) if method != "get" else ({},):
                response = _call(tenant_b, method, url, body)
                if response.status_code != 404:
                    leaks.append((name, method, bool(body), response.status_code))
    assert leaks == [], leaks


def test_tenant_a_reaches_the_same_objects(objects, vendor, customer):
    """The 404s above are about tenancy, not about broken URLs: the owners read them."""
    customer_client, _ = customer
    reads = {
        "order-detail": customer_client,
        "entitlement-detail": customer_client,
        "device-detail": customer_client,
        "device-deployments": customer_client,
        "device-usage-gaps": customer_client,
        "invoice-detail": customer_client,
        "vendor-agent-plan": vendor.client,
        "vendor-agent-plans": vendor.client,
        "tenant-members-detail": customer_client,
        "agent-detail": vendor.client,
        "agent-version": vendor.client,
        "certification-run": vendor.client,
    }
    for name, client in reads.items():
        response = client.get(_url(name, OWNED[name], objects))
        assert response.status_code == 200, (name, response.json())


def test_a_vendors_admin_reads_its_payout_statement(objects, vendor, member_client):
    client, _ = member_client("admin", tenant=vendor.membership.tenant)
    for name in ("vendor-payout", "vendor-payout-csv"):
        response = client.get(_url(name, OWNED[name], objects))
        assert response.status_code == 200, name


def test_tenant_b_reads_the_public_catalogue_exceptions(tenant_b, objects):
    for name, kwargs in PUBLIC_CATALOGUE.items():
        response = tenant_b.get(_url(name, kwargs, objects))
        assert response.status_code == 200, (name, response.json())


def test_anonymous_callers_read_the_public_catalogue_and_nothing_unpublished(api, objects):
    """As roles.md says: anyone, signed in or not, reads a public agent, its reviews, its
    versions and their certificates; an unpublished agent's are 404, as to another tenant."""
    for name, kwargs in PUBLIC_CATALOGUE.items():
        response = api.get(_url(name, kwargs, objects))
        assert response.status_code == 200, (name, response.json())
        private = api.get(_url(name, OWNED[name], objects))
        assert private.status_code == 404, (name, private.json())


def test_staff_only_routes_refuse_a_tenant_by_role(tenant_b, objects):
    for name, kwargs in STAFF_ONLY.items():
        url = _url(name, kwargs, objects)
        for method in ROUTES[name].methods:
            response = _call(tenant_b, method, url)
            assert response.status_code == 403, (name, method, response.json())
