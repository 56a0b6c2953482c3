"""Commerce fixtures: a vendor with a published agent, plans, and customers."""

import pytest

from billing.models import PaymentMethod
from marketplace import plans
from marketplace.catalogue import refresh_listing
from marketplace.models import AgentVersion, Order
from tests.factories import simulated_certificate
from tests.vendors import package


def publish(version: AgentVersion) -> AgentVersion:
    AgentVersion.objects.filter(pk=version.pk).update(
        certification_status="certified", review_status="approved"
    )
    version.refresh_from_db()
    refresh_listing(version.agent)
    return version


@pytest.fixture
def published(vendor):
    """The vendor's agent with one certified, approved version 1.0.0."""
    body = vendor.upload(package("1.0.0")).json()
    version = publish(AgentVersion.objects.get(pk=body["version"]["id"]))
    return version


@pytest.fixture
def agent(published):
    return published.agent


@pytest.fixture
def make_plan(agent):
    def make(kind="free", key=None, target=None, **price):
        target = target or agent
        return plans.create_plan(
            target, key=key or f"{kind}-plan", name=f"{kind} plan", kind=kind, **price
        )

    return make


@pytest.fixture
def customer(member_client):
    """A customer tenant's admin: (client, membership)."""
    return member_client("admin")


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """localstripe on a free loopback port, its state and temp files in a directory of its own."""
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    from tests.network import free_port, listening
    from tests.processes import wait_while_running

    home = tmp_path_factory.mktemp("localstripe")
    port = free_port()
    env = {
        **os.environ,
        "HOME": str(home),
        "TMPDIR": str(home),
        "PYTHONPATH": str(django_settings.BASE_DIR),
    }
    log = (home / "localstripe.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "billing.localstripe_server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(home),
            "--from-scratch",
        ],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_while_running(
        proc,
        lambda: listening(port),
        timeout=30,
        what="localstripe did not listen",
        log=home / "localstripe.log",
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


WEBHOOK_SECRET = "whsec_test_edgeplug"  # a test-only signing secret


@pytest.fixture
def stripe_on(settings, localstripe):
    settings.STRIPE_API_KEY = "sk_test_edgeplug"
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return localstripe


class Processor:
    """Switches the SDK between localstripe, a loopback port that refuses connections and one
    that takes connections but never answers (``tests.network``)."""

    def __init__(self, settings, up_at: str, down_at: str, silent_at: str):
        self._settings, self._up_at = settings, up_at
        self._down_at, self._silent_at = down_at, silent_at

    def down(self) -> None:
        self._settings.STRIPE_API_BASE = self._down_at

    def silent(self) -> None:
        self._settings.STRIPE_API_BASE = self._silent_at

    def up(self) -> None:
        self._settings.STRIPE_API_BASE = self._up_at


@pytest.fixture
def processor(settings, stripe_on, monkeypatch):
    from stripe._http_client import HTTPClient

    from tests.network import refusing_port, silent_port

    # The SDK still makes each of its retries (billing.payments: max_network_retries), without
    # the backoff it sleeps before each (0.5 s, then 0.5 s to 1 s): a refused or silent port
    # answers the same at once, and each call made while the processor was down slept 1-1.5 s.
    monkeypatch.setattr(HTTPClient, "INITIAL_DELAY", 0)
    monkeypatch.setattr(HTTPClient, "MAX_DELAY", 0)
    with refusing_port() as refusing, silent_port() as silent:
        yield Processor(
            settings, stripe_on, f"http://127.0.0.1:{refusing}", f"http://127.0.0.1:{silent}"
        )


def stripe_client():
    from billing.payments import client

    return client()


def confirmed_setup(api, number="4242424242424242") -> dict:
    """What a customer does in the browser: start a SetupIntent and confirm it with a card
    (Stripe.js does this with the client secret). The setup's start, as the API answered it."""
    started = api.post("/api/v1/billing/payment-methods/setup")
    assert started.status_code == 201, started.json()
    body = started.json()
    card = stripe_client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123"},
        }
    )
    intent = stripe_client().v1.setup_intents.confirm(
        body["setup_intent"],
        params={"payment_method": card.id, "client_secret": body["client_secret"]},
    )
    if intent.status == "requires_action":
        # The customer passes the 3-D Secure challenge; Stripe.js then confirms again.
        stripe_client().v1.setup_intents.confirm(body["setup_intent"])
    return body


def save_card(api, number="4242424242424242"):
    """``confirmed_setup``, then the customer tells us it succeeded."""
    body = confirmed_setup(api, number)
    saved = api.post(
        "/api/v1/billing/payment-methods", {"setup_intent": body["setup_intent"]}, format="json"
    )
    assert saved.status_code == 201, saved.json()
    return saved.json()


def payment_in_stripe(metadata: dict, *, amount=50, currency="usd", customer: str = ""):
    """A card payment made in Stripe outside EdgePlug (another integration on the same Stripe
    account: a staging copy, the company's other shop) with ``metadata`` of its own choosing,
    by ``customer`` (another customer, made here, by default): the succeeded PaymentIntent."""
    client = stripe_client()
    customer = customer or client.v1.customers.create(params={"name": "someone else"}).id
    card = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"},
        }
    )
    client.v1.payment_methods.attach(card.id, params={"customer": customer})
    intent = client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": currency,
            "customer": customer,
            "payment_method": card.id,
            "confirm": True,
            "metadata": metadata,
        }
    )
    assert intent.status == "succeeded"
    return intent


def signed_webhook(api, event: dict, *, secret=WEBHOOK_SECRET, timestamp=None):
    """Deliver ``event`` as Stripe does: the v1 HMAC-SHA256 of "{t}.{body}" with the secret."""
    import hashlib
    import hmac
    import json
    import time

    body = json.dumps(event).encode()
    t = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return api.generic(
        "POST",
        "/api/v1/stripe/webhook",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={t},v1={signature}",
    )


def event(event_id: str, kind: str, obj: dict) -> dict:
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}


@pytest.fixture
def certificate(published):
    """A signed certificate for the published version: cortex-m4, simulated worst case 420 µs."""
    certificate = simulated_certificate(published)
    refresh_listing(published.agent)
    return certificate


def place_order(client, agent, plan, key: str, seats: int = 1):
    """POST /api/v1/orders as a customer does; ``agent`` and ``plan`` are objects or ids."""
    return client.post(
        "/api/v1/orders",
        {"agent": getattr(agent, "pk", agent), "plan": getattr(plan, "pk", plan), "seats": seats},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def require_redis_cache(settings) -> dict:
    """The suite's Redis cache settings (with their timeouts); a run on the file cache (no
    REDIS_URL) has no Redis to lose or to break, and skips."""
    configured = settings.CACHES["default"]
    if "redis" not in configured["BACKEND"]:
        pytest.skip("this run uses the file cache (no REDIS_URL): no Redis cache here")
    return configured


def redis_cache_at(settings, location: str) -> None:
    """The suite's own Redis cache settings, their timeouts included, moved to ``location``."""
    settings.CACHES = {"default": {**require_redis_cache(settings), "LOCATION": location}}


def outage_log(caplog) -> set[str]:
    """What went on without the cache, as edgeplug/core/cache_outage.py logged it."""
    return {
        record.getMessage().split(", going on")[0]
        for record in caplog.records
        if record.name == "edgeplug.core.cache_outage"
    }


def catalogue(client, field: str = "id") -> list:
    """The catalogue's agents as ``client`` sees them: each one's ``field``."""
    return [agent[field] for agent in client.get("/api/v1/agents").json()["results"]]


def buy_free(client, agent, make_plan, key="free-order"):
    response = place_order(client, agent, make_plan("free"), key)
    assert response.status_code == 201, response.json()
    return response.json()


def admin_client(group: str):
    """A Django test client signed in to the admin (with TOTP) as a member of ``group``."""
    from django.contrib.auth.models import Group
    from django.test import Client

    from tests.conftest import totp_now
    from tests.factories import PASSWORD, TOTPDeviceFactory, UserFactory

    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    device = TOTPDeviceFactory(user=user)
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": user.email,
            "password": PASSWORD,
            "otp_token": totp_now(device),
            "otp_device": device.persistent_id,
        },
    )
    assert response.status_code == 302
    return client, user


def authenticate(order_body, success=True):
    """The customer passes (or fails) 3-D Secure in the browser."""
    stripe_client().raw_request(
        "post",
        f"/v1/payment_intents/{order_body['payment_intent_id']}/_authenticate",
        client_secret=order_body["client_secret"],
        success="true" if success else "false",
    )


def uncollectible_invoice(tenant, number="EP-2026-000001"):
    """An invoice of ``tenant`` that could not be collected (as the dunning leaves it), without
    the month's close and dunning that lead there."""
    from billing.models import Invoice, InvoiceStatus

    return Invoice.objects.create(
        tenant=tenant,
        currency="USD",
        period_start="2026-01-01T00:00Z",
        period_end="2026-02-01T00:00Z",
        finalize_after="2026-02-04T00:00Z",
        status=InvoiceStatus.UNCOLLECTIBLE,
        number=number,
    )


ORDERS_URL = "/admin/marketplace/order/"


def refund_confirmation(client, *order_ids):
    """Finance's "Refund in full" chosen on the orders list for ``order_ids``, as the list's
    form sends it (``action``, ``index``, ``_selected_action``): the confirmation page, which
    refunds nothing."""
    chosen = {"action": "refund_in_full", "index": 0, "_selected_action": list(order_ids)}
    page = client.post(ORDERS_URL, chosen)
    assert page.status_code == 200
    assert page.templates[0].name == "admin/marketplace/order/refund_confirmation.html"
    return page


def confirm_refund(client, page):
    """The confirmation page's Confirm, its form sent as it is: the orders list with the
    action's messages."""
    from lxml import html

    [form] = html.fromstring(page.content).xpath('//form[.//input[@name="post"]]')
    data: dict[str, list[str]] = {}
    for name, value in form.form_values():
        data.setdefault(name, []).append(value)
    return client.post(ORDERS_URL, data, follow=True)


def refund_in_admin(client, *order_ids):
    """Refund in full in the admin as finance does it: the action, then Confirm."""
    return confirm_refund(client, refund_confirmation(client, *order_ids))


@pytest.fixture
def pending_order(stripe_on, customer, agent, make_plan):
    """POST /api/v1/orders whose charge Stripe refused with a processor error (the saved card
    no longer exists there): 502, and the order stays pending without a PaymentIntent (its
    refused attempt counted: the next try takes a new idempotency key)."""
    client, _ = customer
    plan = make_plan("one_time", currency="EUR", amount=1500)
    save_card(client)
    stripe_id = PaymentMethod.objects.get().stripe_id
    stripe_client().raw_request("delete", f"/v1/payment_methods/{stripe_id}")
    response = place_order(client, agent, plan, "card-gone")
    assert (response.status_code, response.json()["code"]) == (502, "payment_processor_error")
    order = Order.objects.get()
    assert (order.status, order.payment_intent_id, order.payment_attempt) == ("pending", "", 1)
    return order, plan
