"""Stripe, through its SDK: customers, saved cards (SetupIntents), off-session
PaymentIntents and refunds. The only module that talks to the payment processor.

``STRIPE_API_BASE`` points the SDK at localstripe in tests and in ``make run`` (test mode);
production leaves it empty and sets ``STRIPE_API_KEY``.

The SDK (with aiohttp, which it loads) costs a web worker about 9 MB, and only orders paid
by card, saved cards and webhooks need it: it is imported on first use.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from billing.charge_minimums import MAXIMUM_CHARGE, charge_step, minimum_charge
from billing.errors import (
    InvalidWebhook,
    PaymentMethodRemoved,
    PaymentMethodRequired,
    PaymentNotOurs,
    PaymentPending,
    PaymentProcessorError,
    PaymentsNotConfigured,
    SetupIncomplete,
    UnknownSetupIntent,
)
from billing.models import (
    PAYMENT_NOT_OURS,
    ChargeDispute,
    DeletedStripeCustomer,
    Invoice,
    PaymentMethod,
    RemovedPaymentMethod,
    StripeCustomer,
)
from billing.signals import default_card_set
from edgeplug.audit.services import record_change, record_event, recorded
from edgeplug.core.lazy import LazyModule
from edgeplug.core.locking import locked
from edgeplug.errors import DomainError
from edgeplug.tenancy.models import Tenant
from edgeplug.tenancy.services import lock_tenant
from marketplace.pricing import format_amount

stripe = LazyModule("stripe")
logger = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_S = 300


# Rows created from this instant on have Stripe idempotency keys that also name the row's
# creation time. Rows created before it keep the keys they were sent with (the row id alone):
# a charge whose answer was lost is retried with its first key, and a new key could charge
# again. So this instant must be no earlier than the deploy of the release that brought it;
# moving it later is always safe, moving it earlier is not.
KEYS_NAME_CREATION_SINCE = datetime(2027, 1, 1, tzinfo=UTC)


def idempotency_key(kind: str, row: models.Model, *more: object) -> str:
    """The Stripe idempotency key of the request ``kind`` made for ``row`` (a tenant, an
    invoice, an order ...), ``more`` naming which one of several (``"attempt", 2``).

    Stripe keeps a key 24 hours, and a key of the row's id alone is another row's once the
    id is given again: after a restore from a backup (``pg_restore``, point-in-time recovery
    rewinds the id sequences) or with two databases on one Stripe account. Stripe answers
    that row's request with ``idempotency_error`` (other parameters) or, worse, with the
    first row's object. So the key also names the row's creation time (``key_time``), which
    a restored row keeps and a new row with the same id does not have; except for rows
    created before ``KEYS_NAME_CREATION_SINCE``, which keep their first keys."""
    parts = [f"edgeplug-{kind}-{row.pk}"]
    if row.created_at >= KEYS_NAME_CREATION_SINCE:
        parts.append(key_time(row.created_at))
    return "-".join([*parts, *map(str, more)])


def key_time(moment: datetime) -> str:
    """A creation time as a key names it: UTC to the millisecond (``20270102T093000123Z``),
    what survives every documented move of the data (Django's JSON dump keeps milliseconds:
    docs/operations.md), so a row moved to PostgreSQL keeps its keys."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y%m%dT%H%M%S}{utc.microsecond // 1000:03d}Z"


def configured() -> bool:
    return bool(settings.STRIPE_API_KEY)


def client() -> stripe.StripeClient:
    if not configured():
        raise PaymentsNotConfigured("Payments are not configured on this server.")
    base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.STRIPE_API_KEY,
        base_addresses=base,
        max_network_retries=2,
        http_client=stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT_S),
    )


@contextlib.contextmanager
def _processor_call(doing: str) -> Iterator[None]:
    """Around every function here that calls Stripe (as a decorator): a Stripe error the
    function does not handle itself (a decline, an unknown id it answers as such) is the
    processor's failure, ``PaymentProcessorError`` (502 ``payment_processor_error``), whichever
    door called. Each function makes its Stripe calls before it writes anything, so such a
    failure leaves nothing half-written here; the payment tasks retry it. Whether that retry
    may take a new idempotency key is the error's ``key_spent`` (``_key_spent``)."""
    try:
        yield
    except DomainError:
        raise  # our own refusals, as they are (and without loading the SDK for them)
    except stripe.StripeError as exc:
        logger.warning("payment processor failed while %s: %r", doing, exc)
        raise PaymentProcessorError(
            f"The payment processor failed while {doing}: {_why(exc)}. Try again later.",
            key_spent=_key_spent(exc),
        ) from exc


# Answers about the request itself, which Stripe answers again to its key: a new key (and,
# for a charge, a failed attempt) is the way on. Not 401 (our API key), 409 (the key in use),
# 429 (a rate limit): not saved under the key, and not the customer's doing.
_REQUEST_REFUSED = frozenset({400, 402, 403, 404})


def _key_spent(exc: stripe.StripeError) -> bool:
    """Whether Stripe's answer spent the request's idempotency key, so that a retry must take
    a new one: a refusal of the request itself (``_REQUEST_REFUSED``: a customer or card
    Stripe no longer has, a parameter it refuses), which Stripe saves under the key and
    answers every retry with it, so the same key can never succeed.

    Kept (False): no answer at all (a connection error, a timeout: the request may have run,
    and a charge been made, without our hearing of it; Stripe asks to retry those with the
    same key); an ``idempotency_error`` (the key first sent with other parameters: what that
    request did is unknown); 401, 409 and 429 (not saved: the same key is safe and right);
    and a 5xx, where Stripe may have charged: a new key could charge again, and the webhook of
    the first intent would find no order. Its key answers the 500 until Stripe forgets it (24
    hours), so such a charge is retried until then, not failed."""
    if exc.http_status is None or isinstance(exc, stripe.IdempotencyError):
        return False
    return exc.http_status in _REQUEST_REFUSED


def _why(exc: stripe.StripeError) -> str:
    """What the client may be told: the SDK's own message for a connection error names our
    network and Stripe's support address, and an authentication error a part of our key."""
    if isinstance(exc, stripe.APIConnectionError):
        return "it could not be reached"
    if isinstance(exc, stripe.InvalidRequestError) and exc.user_message:
        return f"it refused the request ({exc.user_message})"
    if exc.http_status:
        return f"it answered HTTP {exc.http_status}"
    return "it answered with an error"


def below_minimum_charge(amount: int, currency: str) -> str:
    """Why Stripe would refuse to charge ``amount`` (minor units of ``currency``): less than
    its minimum charge (``billing.charge_minimums``); empty when it is not."""
    minimum = minimum_charge(currency)
    if 0 < amount < minimum:
        return (
            f"{format_amount(amount, currency)} is below the card processor's minimum charge "
            f"of {format_amount(minimum, currency)}"
        )
    return ""


def above_maximum_charge(amount: int, currency: str) -> str:
    """Why Stripe would refuse to charge ``amount``: more than its largest charge
    (``charge_minimums.MAXIMUM_CHARGE``); empty when it is not."""
    if amount > MAXIMUM_CHARGE:
        return (
            f"{format_amount(amount, currency)} is above the card processor's largest charge "
            f"of {format_amount(MAXIMUM_CHARGE, currency)}"
        )
    return ""


def unchargeable(amount: int, currency: str) -> str:
    """Why Stripe would refuse to charge ``amount`` as it is: below its minimum charge, above
    its largest, or not a multiple of the currency's step (three-decimal currencies:
    ``charge_minimums``); empty when it would not. For prices charged as they are (a one-time
    plan's seat)."""
    if refusal := below_minimum_charge(amount, currency) or above_maximum_charge(amount, currency):
        return refusal
    step = charge_step(currency)
    if amount % step:
        return (
            f"{format_amount(amount, currency)} cannot be charged: {currency.upper()} card "
            f"charges are multiples of {format_amount(step, currency)}"
        )
    return ""


def default_payment_method(tenant: Tenant) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(tenant=tenant, is_default=True).first()


CUSTOMER_DELETED = "stripe_customer_deleted"


@_processor_call("creating the customer")
def ensure_customer(tenant: Tenant) -> str:
    """The tenant's Stripe customer id, creating the customer the first time, and again once
    Stripe deleted it (``forget_deleted_customer``): that one's creation names how many were
    deleted before, or Stripe would answer its key with the deleted customer."""
    existing = StripeCustomer.objects.filter(tenant=tenant).first()
    if existing is not None:
        return existing.customer_id
    deleted = DeletedStripeCustomer.objects.filter(tenant=tenant).count()
    again = ("after-deleted", deleted) if deleted else ()
    customer = client().v1.customers.create(
        params={"name": tenant.name, "metadata": {"tenant": str(tenant.pk), "slug": tenant.slug}},
        options={"idempotency_key": idempotency_key("customer-tenant", tenant, *again)},
    )
    try:
        with transaction.atomic():
            StripeCustomer.objects.create(tenant=tenant, customer_id=customer.id)
    except IntegrityError:
        return StripeCustomer.objects.get(tenant=tenant).customer_id
    return customer.id


@dataclass(frozen=True)
class SetupStarted:
    setup_intent_id: str
    client_secret: str
    customer_id: str


@_processor_call("starting to save a card")
def start_setup(tenant: Tenant) -> SetupStarted:
    """A SetupIntent the customer confirms with their card (Stripe.js) to save it."""
    customer_id = ensure_customer(tenant)
    intent = client().v1.setup_intents.create(
        params={"customer": customer_id, "usage": "off_session"}
    )
    return SetupStarted(intent.id, intent.client_secret, customer_id)


@_processor_call("saving the card")
def record_setup(tenant: Tenant, setup_intent_id: str, *, actor=None, request=None):
    """Save the card of a succeeded SetupIntent of this tenant's customer (idempotent while
    the card is kept; once removed, ``PaymentMethodRemoved``)."""
    stripe_client = client()
    customer = StripeCustomer.objects.filter(tenant=tenant).first()
    try:
        intent = stripe_client.v1.setup_intents.retrieve(setup_intent_id)
    except stripe.InvalidRequestError as exc:
        raise UnknownSetupIntent("setup_intent", setup_intent_id) from exc
    if customer is None or intent.customer != customer.customer_id:
        raise UnknownSetupIntent("setup_intent", setup_intent_id)
    if intent.status != "succeeded" or not intent.payment_method:
        raise SetupIncomplete(
            f"Setup intent {setup_intent_id} is {intent.status}: confirm it with the card first."
        )
    return _save_card(tenant, customer.customer_id, intent.payment_method, actor, request)


def _still_there(resource, object_id: str):
    """The Stripe object as Stripe has it now, or None once it is deleted (Stripe answers a
    deleted customer with ``deleted``, localstripe with a 404)."""
    try:
        found = resource.retrieve(object_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None
        raise
    return None if getattr(found, "deleted", False) else found


@_processor_call("reading the customer")
def forget_deleted_customer(customer_id: str) -> StripeCustomer | None:
    """Stripe deleted a tenant's customer (``customer.deleted``: the dashboard, an erasure),
    which detached its cards: forget the customer and those cards (kept as removed ones,
    ``RemovedPaymentMethod``), so the next card saved makes a new customer
    (``ensure_customer``); the customer is kept as one the tenant had
    (``DeletedStripeCustomer``). Until 2026-12-07 the dead id stayed and every card save answered
    ``502 payment_processor_error`` for good. Audited ``stripe_customer_deleted``. None when
    no tenant has that customer (forgotten already) or Stripe still has it."""
    known = StripeCustomer.objects.filter(customer_id=customer_id).first()
    if known is None or _still_there(client().v1.customers, customer_id) is not None:
        return None
    with transaction.atomic():
        _lock_cards_of(known.tenant_id)
        known = StripeCustomer.objects.select_related("tenant").filter(pk=known.pk).first()
        if known is None:  # forgotten meanwhile (the event delivered twice at once)
            return None
        cards = list(PaymentMethod.objects.filter(tenant_id=known.tenant_id).order_by("pk"))
        RemovedPaymentMethod.objects.bulk_create(
            [RemovedPaymentMethod(tenant_id=known.tenant_id, stripe_id=c.stripe_id) for c in cards],
            ignore_conflicts=True,
        )
        PaymentMethod.objects.filter(pk__in=[card.pk for card in cards]).delete()
        known.delete()
        # Once per customer, even if Stripe's id came back to EdgePlug after it was deleted.
        DeletedStripeCustomer.objects.get_or_create(
            customer_id=customer_id, defaults={"tenant_id": known.tenant_id}
        )
        record_event(
            CUSTOMER_DELETED,
            tenant=known.tenant,
            target=f"Stripe customer {customer_id}",
            details={"customer": customer_id, "cards_forgotten": [str(card) for card in cards]},
        )
    return known


@_processor_call("reading the card")
def forget_detached_card(payment_method_id: str) -> PaymentMethod | None:
    """Stripe detached a saved card (``payment_method.detached``: in the dashboard, by
    support, by another integration on the account): forget it as ``remove`` does, a
    default card handing the default on; until 2026-12-07 it stayed the default, and every
    charge on it failed. Audited ``payment_method_detached``. None when no tenant has that
    card (``remove`` detached it) or Stripe has it attached to the tenant's customer still."""
    method = PaymentMethod.objects.filter(stripe_id=payment_method_id).first()
    if method is None:
        return None
    found = _still_there(client().v1.payment_methods, payment_method_id)
    customer = StripeCustomer.objects.filter(tenant_id=method.tenant_id).first()
    if found is not None and customer and _id(found.customer) == customer.customer_id:
        return None
    with transaction.atomic():
        _lock_cards_of(method.tenant_id)
        method = PaymentMethod.objects.filter(pk=method.pk).first()
        if method is not None:  # else removed meanwhile
            _forget_card(method, "payment_method_detached")
    return method


def record_setup_for_customer(customer_id: str, setup_intent_id: str):
    """The webhook door of ``record_setup``: the tenant is found by its customer id. A card
    removed since its setup raises ``PaymentMethodRemoved`` here too; the webhook answers it."""
    customer = StripeCustomer.objects.select_related("tenant").filter(customer_id=customer_id)
    customer = customer.first()
    if customer is None:
        return None
    return record_setup(customer.tenant, setup_intent_id)


@_processor_call("saving the card")
def _save_card(tenant, customer_id, payment_method_id, actor, request) -> PaymentMethod:
    _refuse_removed(tenant, payment_method_id)  # before attaching it at Stripe again
    stripe_client = client()
    method = stripe_client.v1.payment_methods.retrieve(payment_method_id)
    if method.customer != customer_id:
        # Stripe attaches on confirmation; localstripe leaves it to us.
        method = stripe_client.v1.payment_methods.attach(
            payment_method_id, params={"customer": customer_id}
        )
    card = method.card
    with transaction.atomic():
        _lock_cards_of(tenant.pk)
        _refuse_removed(tenant, payment_method_id)  # removed while we asked Stripe
        saved, created = PaymentMethod.objects.get_or_create(
            stripe_id=method.id,
            defaults={
                "tenant": tenant,
                "brand": card.brand,
                "last4": card.last4,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
            },
        )
        if created:
            if default_payment_method(tenant) is None:
                saved.is_default = True
                saved.save(update_fields=["is_default"])
                default_card_set.send(sender=PaymentMethod, tenant_id=tenant.pk)
            record_event(
                "payment_method_added",
                request=request,
                actor=actor,
                tenant=tenant,
                target=f"{card.brand} ending {card.last4}",
            )
    return saved


def _refuse_removed(tenant: Tenant, payment_method_id: str) -> None:
    """A card the tenant removed is not saved again by its own setup: Stripe's late
    ``setup_intent.succeeded`` or the save sent again brought it back, as the default card
    when it was the only one, and the tenant's unpaid invoices were charged on it."""
    if RemovedPaymentMethod.objects.filter(tenant=tenant, stripe_id=payment_method_id).exists():
        raise PaymentMethodRemoved(
            "This setup's card was removed: it is not saved again. Set up a new card to save one."
        )


def _lock_cards_of(tenant_id: int) -> None:
    """A tenant's cards are saved, made the default and removed holding the tenant's row: two
    members making two cards the default at once, or saving two first cards, each saw no
    other default and the second broke ``one_default_payment_method`` (a 500)."""
    lock_tenant(tenant_id)


@transaction.atomic
def make_default(method: PaymentMethod, *, actor=None, request=None) -> PaymentMethod:
    """Charge this card from now on: audited, and the tenant's unpaid invoices are tried on it
    (``default_card_set``). The default card made the default again does nothing: no event,
    no charge (until 2026-12-06 it was audited ``payment_method_default`` each time)."""
    _lock_cards_of(method.tenant_id)
    method = locked(method, "tenant")  # 404 if removed meanwhile
    if method.is_default:
        return method
    PaymentMethod.objects.filter(tenant=method.tenant, is_default=True).update(is_default=False)
    method.is_default = True
    method.save(update_fields=["is_default"])
    record_change("payment_method_default", method, actor=actor, request=request)
    default_card_set.send(sender=PaymentMethod, tenant_id=method.tenant_id)
    return method


@_processor_call("removing the card")
def remove(method: PaymentMethod, *, actor=None, request=None) -> None:
    """Detach the card at Stripe and forget it, keeping only its id (``RemovedPaymentMethod``:
    its setup does not save it again). Removing the default makes the newest card
    left the default (as the first card saved becomes it): a tenant with a card is never
    asked to add one, and its unpaid invoices are tried on it (``default_card_set``)."""
    # Already detached at Stripe: forget it here too. Any other failure keeps the card here.
    with contextlib.suppress(stripe.InvalidRequestError):
        client().v1.payment_methods.detach(method.stripe_id)
    with transaction.atomic():
        _lock_cards_of(method.tenant_id)
        method = locked(method)  # 404 if removed meanwhile
        _forget_card(method, "payment_method_removed", actor=actor, request=request)


def _forget_card(method: PaymentMethod, action: str, *, actor=None, request=None) -> None:
    """Forget a card Stripe no longer has attached (the caller holds the tenant's cards),
    audited ``action``; a default card hands the default on (``remove``)."""
    record_change(action, method, actor=actor, request=request)
    method.delete()
    RemovedPaymentMethod.objects.create(tenant_id=method.tenant_id, stripe_id=method.stripe_id)
    if method.is_default:
        successor = PaymentMethod.objects.filter(tenant_id=method.tenant_id).first()
        if successor is not None:
            make_default(successor, actor=actor, request=request)


class IntentState(StrEnum):
    """A PaymentIntent's state as EdgePlug acts on it (``_outcome`` reads Stripe's into it)."""

    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"  # 3-D Secure: the customer must confirm
    FAILED = "failed"  # declined, cancelled, or no card to charge
    PROCESSING = "processing"  # the outcome comes later, by webhook


@dataclass(frozen=True)
class PaymentOutcome:
    """What the processor says about one PaymentIntent."""

    status: IntentState
    payment_intent_id: str = ""
    client_secret: str = ""
    failure_code: str = ""
    failure_message: str = ""
    amount_refunded: int = 0
    metadata: dict = field(default_factory=dict)
    # What the intent charges (minor units): what a success took, whatever the invoice asks now.
    amount: int | None = None
    # Whose it is (the Stripe customer's id) and in what (ISO 4217, upper case): read from
    # Stripe (``payment_status``), empty for an outcome made here.
    customer: str = ""
    currency: str = ""


def _outcome(intent) -> PaymentOutcome:
    status = intent.status
    error = intent.last_payment_error.to_dict() if intent.last_payment_error else {}
    read = {
        "metadata": intent.metadata.to_dict() if intent.metadata else {},
        "amount": intent.amount,
        "customer": _id(intent.customer),
        "currency": (intent.currency or "").upper(),
    }
    if status in ("requires_payment_method", "canceled"):
        return PaymentOutcome(
            IntentState.FAILED,
            intent.id,
            failure_code=error.get("code") or "payment_failed",
            failure_message=error.get("message") or f"The payment is {status}.",
            **read,
        )
    if status == "requires_action":
        return PaymentOutcome(
            IntentState.REQUIRES_ACTION, intent.id, client_secret=intent.client_secret, **read
        )
    if status == "succeeded":
        return PaymentOutcome(IntentState.SUCCEEDED, intent.id, **read)
    return PaymentOutcome(IntentState.PROCESSING, intent.id, **read)


def refuse_foreign_payment(
    outcome: PaymentOutcome,
    tenant: Tenant,
    amount: int,
    currency: str,
    *,
    target: str,
    names: dict[str, int],
    or_more: bool = False,
) -> PaymentNotOurs | None:
    """The refusal of a PaymentIntent (``outcome``, read from Stripe) that names one of
    ``tenant``'s invoices or orders (``target``; ``names``: ``{"invoice": id}``) but is not
    its payment: another customer's (metadata is anyone's to write: another integration on
    the same Stripe account, a payment made in the dashboard), or in another currency than
    ``currency``, or of another sum than ``amount`` (minor units; ``or_more``: at least
    that). None when it is the tenant's payment of it. A refusal is told to finance once per
    intent (audit ``payment_not_ours``), in the caller's transaction, which holds the row
    named and raises the refusal once it is committed (the webhook acknowledges it). One
    that took the money of a customer of ours (any tenant's, of now or before:
    ``details.ours``) is listed on *Money to give back* for finance: it paid nothing."""
    why = _not_theirs(outcome, tenant, amount, currency.upper(), or_more=or_more)
    if not why:
        return None
    if not recorded(PAYMENT_NOT_OURS, payment_intent=outcome.payment_intent_id):
        logger.warning("%s: %s %s", target, outcome.payment_intent_id, why)
        ours = outcome.status == IntentState.SUCCEEDED and bool(_customers(outcome.customer))
        record_event(
            PAYMENT_NOT_OURS,
            tenant=tenant,
            target=target,
            details={
                **names,
                "payment_intent": outcome.payment_intent_id,
                "customer": outcome.customer,
                "amount": outcome.amount,
                "currency": outcome.currency,
                "status": outcome.status.value,
                "why": why,
                "ours": ours,
            },
        )
    return PaymentNotOurs(f"{outcome.payment_intent_id} {why}; {target} is left as it was.")


def _not_theirs(outcome, tenant, amount: int, currency: str, *, or_more: bool) -> str:
    """Why ``outcome`` is not ``tenant``'s payment of ``amount`` ``currency``, or "". The
    tenant's customers of before count (``_customers``): a charge made on one, its answer
    lost or its 3-D Secure finished late, succeeds after Stripe deleted it."""
    if tenant.pk not in _customers(outcome.customer):
        return f"charges customer {outcome.customer or '(none)'}, not the tenant's"
    if outcome.currency != currency:
        return f"charges {outcome.currency or '(no currency)'}, not {currency}"
    charged = outcome.amount or 0
    if charged < amount or (charged > amount and not or_more):
        return f"charges {format_amount(charged, currency)}, not {format_amount(amount, currency)}"
    return ""


def _customers(customer_id: str | None) -> set[int]:
    """The tenants whose Stripe customer ``customer_id`` is or was: a customer Stripe deleted
    is remembered as ``DeletedStripeCustomer`` (``forget_deleted_customer``)."""
    if not customer_id:
        return set()
    now = StripeCustomer.objects.filter(customer_id=customer_id).values_list("tenant_id")
    before = DeletedStripeCustomer.objects.filter(customer_id=customer_id).values_list("tenant_id")
    return {tenant for (tenant,) in now.union(before)}


def _id(field) -> str:
    """A Stripe field that names an object, as its id whether Stripe sent the id or the
    expanded object ("" for none)."""
    if not field:
        return ""
    return field if isinstance(field, str) else field.id


def _declined_intent_id(exc: stripe.CardError) -> str:
    """The PaymentIntent a decline belongs to: Stripe names it in the error; localstripe
    names only the charge, whose ``payment_intent`` is the same intent."""
    error = exc.error
    intent = getattr(error, "payment_intent", None) if error else None
    if intent:
        return _id(intent)
    charge_id = getattr(error, "charge", None) if error else None
    if not charge_id:
        return ""
    with contextlib.suppress(stripe.StripeError):
        return client().v1.charges.retrieve(charge_id).payment_intent or ""
    return ""


@_processor_call("charging the card")
def charge_off_session(
    tenant: Tenant, amount: int, currency: str, *, idempotency_key: str, metadata: dict
) -> PaymentOutcome:
    """Charge the tenant's default card without the customer present."""
    method = default_payment_method(tenant)
    if method is None:  # callers check first; this is a card removed in between
        raise PaymentMethodRequired(
            "No card on file to charge: add one under /api/v1/billing/payment-methods."
        )
    customer_id = ensure_customer(tenant)
    try:
        intent = client().v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": currency.lower(),
                "customer": customer_id,
                "payment_method": method.stripe_id,
                "confirm": True,
                "off_session": True,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.CardError as exc:
        return PaymentOutcome(
            IntentState.FAILED,
            _declined_intent_id(exc),
            failure_code=exc.code or "card_declined",
            failure_message=exc.user_message or "The card was declined.",
            metadata=dict(metadata),
        )
    return _outcome(intent)


def charge_attempt(
    tenant: Tenant, amount: int, currency: str, *, idempotency_key: str, metadata: dict
) -> PaymentOutcome | PaymentProcessorError:
    """One numbered attempt at an off-session charge, as orders and invoices make them: its
    outcome, or the processor's failure when that spent the attempt's idempotency key
    (``PaymentProcessorError.key_spent``: the attempt is over, the caller records it and the
    next attempt takes a new key). A failure that did not spend the key (no answer, a 5xx:
    the charge may have been made) is raised, so the caller's transaction rolls the attempt
    back and its retry sends the same key."""
    try:
        return charge_off_session(
            tenant, amount, currency, idempotency_key=idempotency_key, metadata=metadata
        )
    except PaymentProcessorError as error:
        if not error.key_spent:
            raise
        return error


@_processor_call("reading the payment")
def payment_status(payment_intent_id: str) -> PaymentOutcome:
    """Re-fetch a PaymentIntent: the truth a webhook only hints at."""
    intent = client().v1.payment_intents.retrieve(payment_intent_id)
    outcome = _outcome(intent)
    charge_id = intent.latest_charge
    if outcome.status == IntentState.SUCCEEDED and charge_id:
        charge = client().v1.charges.retrieve(_id(charge_id))
        return replace(outcome, amount_refunded=charge.amount_refunded or 0)
    return outcome


# A refund on its way or made; a failed or canceled one gave nothing back.
REFUND_MADE = frozenset({"succeeded", "pending", "requires_action"})


@_processor_call("refunding the payment")
def refund(
    payment_intent_id: str,
    *,
    idempotency_key: str,
    amount: int | None = None,
    metadata: dict[str, str] | None = None,
) -> str:
    """Refund the PaymentIntent: all of it, or ``amount`` (minor units). The Stripe refund."""
    params: dict = {"payment_intent": payment_intent_id}
    if amount is not None:
        params["amount"] = amount
    if metadata:
        params["metadata"] = metadata
    created = client().v1.refunds.create(
        params=params, options={"idempotency_key": idempotency_key}
    )
    if created.status not in REFUND_MADE:
        raise PaymentProcessorError(
            f"Stripe answered the refund {created.id} {created.status}.", key_spent=True
        )
    return created.id


def refund_made(payment_intent_id: str, *, metadata: dict[str, str]) -> str | None:
    """The refund of the PaymentIntent carrying ``metadata``, if one was made: a refund whose
    answer was lost is found again after its idempotency key expired (24 hours)."""
    for made in refunds_of(payment_intent_id):
        if metadata.items() <= made.metadata.items() and made.status in REFUND_MADE:
            return made.id
    return None


# A dispute's close (``charge.dispute.closed``): the bank decided, an inquiry closed
# (``warning_closed``) or a chargeback was stopped before it was filed (``prevented``: Visa's
# Rapid Dispute Resolution), the last two without taking anything; other statuses are open.
DISPUTE_CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})
DISPUTED, DISPUTE_CLOSED = "charge_disputed", "charge_dispute_closed"
# An inquiry's statuses (``warning_needs_response``, ``warning_under_review``): the bank asks,
# nothing is taken yet. Escalated, the same dispute is a chargeback (``needs_response``).
INQUIRY_PREFIX = "warning_"


@dataclass(frozen=True)
class Dispute:
    """A chargeback as a ``charge.dispute.*`` event's object has it (Stripe keeps no dispute
    localstripe could give back: the signed event is what is recorded). ``action`` is its
    audit event: ``charge_disputed`` while open, ``charge_dispute_closed`` once closed."""

    id: str
    status: str
    reason: str
    payment_intent: str
    amount: int
    currency: str

    @property
    def action(self) -> str:
        return DISPUTE_CLOSED if self.status in DISPUTE_CLOSED_STATUSES else DISPUTED

    @property
    def inquiry(self) -> bool:
        """An open inquiry: no chargeback yet (Stripe refunds its charge)."""
        return self.action == DISPUTED and self.status.startswith(INQUIRY_PREFIX)

    def told_already(self) -> str:
        """Why this event changes nothing, or "": its close was told (Stripe's events come in
        any order: a late ``charge.dispute.created`` or ``updated`` does not reopen it, and
        finance is not asked to answer a dispute closed), or it says it open as told already
        (``news``). Read from its ``ChargeDispute``, under the caller's lock."""
        told = ChargeDispute.objects.filter(dispute_id=self.id).values_list("status", flat=True)
        before = told.first()
        if before in DISPUTE_CLOSED_STATUSES:
            return f"dispute {self.id} closed already"
        if not news(before, self.status):
            return f"dispute {self.id} {self.status} told already"
        return ""

    def keep(self) -> None:
        """Keep its status, news (``told_already`` said ""), on its ``ChargeDispute``."""
        ChargeDispute.objects.update_or_create(
            dispute_id=self.id,
            defaults={
                "payment_intent_id": self.payment_intent,
                "status": self.status,
                "told_at": timezone.now(),
            },
        )

    @property
    def lost(self) -> bool:
        return self.status == "lost" and self.amount > 0

    def details(self) -> dict:
        """Its audit event's details: its fields, its id as ``dispute``."""
        fields = asdict(self)
        return {"dispute": fields.pop("id"), **fields, "currency": self.currency.upper()}


def _inquiry(status) -> bool:
    return str(status).startswith(INQUIRY_PREFIX)


def news(before: str | None, status: str) -> bool:
    """Whether a dispute told ``status`` says something new after ``before`` (its status as
    last told, None when never): a close, once; a chargeback, once, whether filed as one or an
    inquiry escalated; an inquiry when nothing was told. Evidence sent (``under_review``) is
    the same chargeback, and an inquiry's status delivered after its escalation is old news.
    Also the rule of billing 0030's fill."""
    if before is None:
        return True
    if before in DISPUTE_CLOSED_STATUSES:
        return False
    return status in DISPUTE_CLOSED_STATUSES or (_inquiry(before) and not _inquiry(status))


def open_disputes(payment_intent_ids) -> dict[str, str]:
    """Each of the PaymentIntents whose charge is under a chargeback (its ``ChargeDispute``
    neither an inquiry nor closed) -> that dispute's ``dp_…`` (one query, however many).
    Stripe refunds no charge under a chargeback (``charge_disputed``): a refund of it is
    refused before Stripe is asked (``errors.PaymentDisputed``). An inquiry (``warning_…``)
    is none yet: Stripe refunds its charge, the usual way to settle one; one escalated is."""
    disputes = (
        ChargeDispute.objects.filter(payment_intent_id__in=[i for i in payment_intent_ids if i])
        .exclude(status__in=DISPUTE_CLOSED_STATUSES)
        .exclude(status__startswith=INQUIRY_PREFIX)
    )
    return dict(disputes.values_list("payment_intent_id", "dispute_id"))


def dispute_of(obj: dict) -> Dispute:
    """The dispute a ``charge.dispute.*`` event names (``amount`` 0 when it says none)."""
    amount, intent = obj.get("amount"), obj.get("payment_intent") or ""
    return Dispute(
        id=str(obj.get("id") or ""),
        status=str(obj.get("status") or ""),
        reason=str(obj.get("reason") or ""),
        payment_intent=str(intent.get("id", "") if isinstance(intent, dict) else intent),
        amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else 0,
        currency=str(obj.get("currency") or ""),
    )


@dataclass(frozen=True)
class RefundState:
    """A refund as Stripe has it now: ``failure_reason`` is Stripe's (``lost_or_stolen_card``,
    ``expired_or_canceled_card``, ``unknown``) once ``status`` is ``failed``."""

    id: str
    status: str
    payment_intent: str
    amount: int
    failure_reason: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def _refund_state(refund) -> RefundState:
    return RefundState(
        refund.id,
        refund.status,
        _id(refund.payment_intent),
        refund.amount,
        failure_reason=getattr(refund, "failure_reason", None) or "",
        metadata=refund.metadata.to_dict() if refund.metadata else {},
    )


@_processor_call("reading the refund")
def refund_state(refund_id: str) -> RefundState:
    """Re-fetch a refund: the truth a refund webhook only hints at."""
    return _refund_state(client().v1.refunds.retrieve(refund_id))


@_processor_call("reading the payment's refunds")
def refunds_of(payment_intent_id: str) -> list[RefundState]:
    """Every refund of the PaymentIntent, as Stripe has it now."""
    listed = client().v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
    return [_refund_state(refund) for refund in listed.auto_paging_iter()]


def verified_event(payload: bytes, signature: str):
    """The event in a webhook request, if Stripe's signature over the raw body is valid (checked
    first, as the stripe library does: an unsigned body is ``invalid_signature`` whatever it
    holds) and the body is shaped as an event (``_event_shaped``)."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise PaymentsNotConfigured("STRIPE_WEBHOOK_SECRET is not set on this server.")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, WEBHOOK_TOLERANCE_S)
        if not _event_shaped(json.loads(payload)):
            raise ValueError("not an event")
        return stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=WEBHOOK_TOLERANCE_S
        )
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise InvalidWebhook("The body is not a Stripe event.", code="invalid_payload") from exc
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(
            "The Stripe-Signature header does not match the body (or is too old)."
        ) from exc


def _event_shaped(body) -> bool:
    """Whether a webhook body is an event as the handler reads it: an object with an ``id``
    and a ``type`` (strings) and ``data.object`` (an object). Any other JSON, signed, was a
    500 (a KeyError, or the stripe library's AttributeError on a list)."""
    data = body.get("data") if isinstance(body, dict) else None
    return (
        isinstance(data, dict)
        and isinstance(data.get("object"), dict)
        and all(isinstance(body.get(key), str) for key in ("id", "type"))
    )


def refuse_while_awaited(invoice: Invoice, *, then: str) -> None:
    """Nothing settles or charges an invoice while its last charge attempt awaits its outcome
    (Stripe said processing): finance's retry, an offline payment and a void wait for it as
    the dunning and a new card do. A success arriving on an invoice settled meanwhile would
    have taken the money twice (or for a void invoice). ``then`` says what to do instead."""
    if invoice.is_awaiting_outcome:
        raise PaymentPending(
            f"Invoice {invoice.number}: attempt {invoice.payment_attempts} is still "
            f"processing; its outcome arrives from Stripe. {then}"
        )
