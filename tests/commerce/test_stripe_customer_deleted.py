"""The tenant's Stripe customer deleted in Stripe (the dashboard, an erasure; Stripe tells by
``customer.deleted``) is forgotten with its cards, and the next card saved makes a new
customer. The dead id stayed, and every card save answered 502 for good."""

import pytest

from billing.models import DeletedStripeCustomer, PaymentMethod, StripeCustomer
from edgeplug.audit.models import AuditEvent
from tests.commerce.conftest import confirmed_setup, event, save_card, signed_webhook, stripe_client

pytestmark = pytest.mark.django_db

CARDS = "/api/v1/billing/payment-methods"


def deleted_event(event_id: str, customer_id: str) -> dict:
    customer = {"id": customer_id, "object": "customer", "deleted": True}
    return event(event_id, "customer.deleted", customer)


def test_a_tenant_whose_stripe_customer_was_deleted_can_save_a_card_again(stripe_on, customer, api):
    client, membership = customer
    old_card = save_card(client)
    customer_id = StripeCustomer.objects.get(tenant=membership.tenant).customer_id
    assert stripe_client().v1.customers.delete(customer_id).deleted

    answer = signed_webhook(api, deleted_event("evt_cus_deleted", customer_id))

    assert answer.status_code == 200, answer.json()
    assert answer.json()["outcome"] == f"customer of tenant {membership.tenant.pk} forgotten"
    assert client.get(CARDS).json()["count"] == 0  # detached with the customer
    [told] = AuditEvent.objects.filter(action="stripe_customer_deleted")
    assert (told.tenant, told.details["customer"]) == (membership.tenant, customer_id)
    assert told.details["cards_forgotten"] == [f"{old_card['brand']} ending {old_card['last4']}"]
    [gone] = DeletedStripeCustomer.objects.all()
    assert (gone.tenant, gone.customer_id) == (membership.tenant, customer_id)
    assert gone.deleted_at <= told.created_at

    body = confirmed_setup(client)
    saved = client.post(CARDS, {"setup_intent": body["setup_intent"]}, format="json")

    assert saved.status_code == 201, saved.json()
    assert saved.json()["is_default"]
    new_customer = StripeCustomer.objects.get(tenant=membership.tenant).customer_id
    assert new_customer != customer_id
    assert stripe_client().v1.customers.retrieve(new_customer).id == new_customer
    # A late event of the deleted customer changes nothing now.
    again = signed_webhook(api, deleted_event("evt_cus_deleted_late", customer_id))
    assert again.json()["outcome"] == "no customer"
    assert PaymentMethod.objects.filter(tenant=membership.tenant).count() == 1


def test_a_deletion_stripe_does_not_confirm_changes_nothing(stripe_on, customer, api):
    client, membership = customer
    save_card(client)
    customer_id = StripeCustomer.objects.get(tenant=membership.tenant).customer_id

    answer = signed_webhook(api, deleted_event("evt_cus_not_deleted", customer_id))

    assert answer.json()["outcome"] == "no customer"
    assert StripeCustomer.objects.get(tenant=membership.tenant).customer_id == customer_id
    assert client.get(CARDS).json()["count"] == 1
    assert not AuditEvent.objects.filter(action="stripe_customer_deleted").exists()


@pytest.fixture
def customer_keys(stripe_on, monkeypatch) -> list[str]:
    """The idempotency key of each Stripe customer created, in order."""
    from stripe import CustomerService

    keys = []
    create = CustomerService.create

    def recording(self, params=None, options=None):
        keys.append((options or {}).get("idempotency_key"))
        return create(self, params, options)

    monkeypatch.setattr(CustomerService, "create", recording)
    return keys


def deleted_in_stripe(api, tenant, event_id: str) -> None:
    """Stripe deletes the tenant's customer and tells it by webhook."""
    customer_id = StripeCustomer.objects.get(tenant=tenant).customer_id
    stripe_client().v1.customers.delete(customer_id)
    signed_webhook(api, deleted_event(event_id, customer_id))


def test_the_new_customer_is_made_under_a_key_of_its_own(customer_keys, customer, api):
    """Stripe answers a key it saw in the last 24 hours with what it made then: the first
    customer's key would have brought the deleted customer back."""
    client, membership = customer
    save_card(client)
    deleted_in_stripe(api, membership.tenant, "evt_cus_deleted")
    save_card(client)

    first, second = customer_keys
    assert second == f"{first}-after-deleted-1"


def test_each_new_customer_after_a_deletion_has_a_key_of_its_own(customer_keys, customer, api):
    """Deleted twice: the third customer's key counts both deletions, so it is neither the
    first customer's key nor the second's."""
    client, membership = customer
    for number in (1, 2):
        save_card(client)
        deleted_in_stripe(api, membership.tenant, f"evt_cus_deleted_{number}")
    save_card(client)

    first, second, third = customer_keys
    assert (second, third) == (f"{first}-after-deleted-1", f"{first}-after-deleted-2")


def test_the_next_customers_key_counts_the_deletions_the_tenant_has(customer_keys, customer):
    """How many customers of the tenant Stripe deleted is the tenant's own state
    (``DeletedStripeCustomer``), not a count of its audit events."""
    client, membership = customer
    DeletedStripeCustomer.objects.create(tenant=membership.tenant, customer_id="cus_gone_1")

    save_card(client)

    [key] = customer_keys
    assert key.endswith("-after-deleted-1")


def test_a_customer_deleted_once_already_is_forgotten_again(stripe_on, customer, api):
    """Stripe's id of a customer already counted as deleted came back (an idempotent create
    within Stripe's 24 hours answers the same customer): its deletion is still applied, and
    it is counted once."""
    client, membership = customer
    save_card(client)
    customer_id = StripeCustomer.objects.get(tenant=membership.tenant).customer_id
    DeletedStripeCustomer.objects.create(tenant=membership.tenant, customer_id=customer_id)
    assert stripe_client().v1.customers.delete(customer_id).deleted

    answer = signed_webhook(api, deleted_event("evt_cus_deleted_again", customer_id))

    assert answer.status_code == 200, answer.json()
    assert answer.json()["outcome"] == f"customer of tenant {membership.tenant.pk} forgotten"
    assert not StripeCustomer.objects.filter(tenant=membership.tenant).exists()
    assert DeletedStripeCustomer.objects.filter(customer_id=customer_id).count() == 1
