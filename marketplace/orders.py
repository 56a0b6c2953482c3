"""Orders and entitlements: place an order once per Idempotency-Key, complete it, grant it.

``place_order`` validates and writes the order in one durable transaction (free and metered
orders complete there and then); a one-time order's payment is collected afterwards by
``collect_payment``, outside that transaction, as the provider call must never hold it open.
"""

import hashlib
import json
import logging
import re
from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from billing import payments
from billing.charge_minimums import MAXIMUM_CHARGE
from billing.errors import (
    PaymentDisputed,
    PaymentMethodRequired,
    PaymentNotOurs,
    PaymentOverdue,
    PaymentProcessorError,
    PaymentsNotConfigured,
)
from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.services import record_change, record_event, recorded
from edgeplug.core.chunks import in_id_chunks
from edgeplug.core.columns import clipped
from edgeplug.core.locking import lock_rows, locked
from edgeplug.errors import Conflict, Forbidden
from edgeplug.tenancy.models import Tenant
from edgeplug.tenancy.scoping import get_referenced
from edgeplug.tenancy.services import lock_tenant
from edgeplug.text import ascii_integer
from marketplace import pricing
from marketplace.catalogue import refresh_listing
from marketplace.errors import (
    AmountTooLarge,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    NotAvailable,
    NotEntitled,
    OwnAgent,
    PlanMismatch,
    UnknownAgent,
    UnknownPlan,
)
from marketplace.models import (
    Agent,
    AgentVersion,
    Entitlement,
    EntitlementStatus,
    GivenBackInPart,
    GivenBackSource,
    Order,
    OrderStatus,
    PlanKind,
    PricePlan,
)
from marketplace.plans import not_offered, reject_changed_since
from marketplace.signals import order_refunded
from marketplace.visibility import orderable_agents

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255


class NotACustomer(Forbidden, code="not_a_customer"): ...


class OrderNotRefundable(Conflict, code="order_not_refundable"): ...


def request_digest(agent_id: int, plan_id: int, seats: int) -> str:
    body = json.dumps({"agent": agent_id, "plan": plan_id, "seats": seats}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


# Printable ASCII (what an HTTP header carries safely), 1 to MAX_KEY_LENGTH characters; the
# API schema publishes the same pattern.
PRINTABLE_ASCII = r"\x20-\x7e"
IDEMPOTENCY_KEY_PATTERN = rf"^[{PRINTABLE_ASCII}]{{1,{MAX_KEY_LENGTH}}}$"


def _require_key(key: str | None) -> str:
    if not key:
        raise IdempotencyKeyRequired(
            f"Send an Idempotency-Key header (1-{MAX_KEY_LENGTH} printable characters) so a "
            "retried request cannot buy twice."
        )
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        if len(key) > MAX_KEY_LENGTH:
            wrong = f"is {len(key)} characters long"
        else:
            odd = re.search(f"[^{PRINTABLE_ASCII}]", key).group()
            wrong = f"holds {odd!r}, which is not a printable ASCII character"
        raise InvalidIdempotencyKey(
            f"The Idempotency-Key header {wrong}: send 1-{MAX_KEY_LENGTH} printable ASCII "
            "characters (a UUID, say)."
        )
    return key


def _replayed(tenant: Tenant, key: str, digest: str) -> Order | None:
    order = (
        Order.objects.select_related("plan", "entitlement")
        .filter(tenant=tenant, idempotency_key=key)
        .first()
    )
    if order is not None and order.request_digest != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another order; use a new key for a new order."
        )
    return order


# --- refusals, one predicate each ------------------------------------------------------------


def _reject_non_customer(tenant: Tenant) -> None:
    if not tenant.is_customer:
        raise NotACustomer("Only customer tenants can buy agents.")


def _plan_for(tenant: Tenant, agent_id: int, plan_id: int) -> PricePlan:
    """The plan, locked until the order is stored: a revise or a retire of it waits, then
    finds the order (``plans.is_held``) and leaves this version as the order names it. A plan
    of an agent the tenant cannot see in the catalogue (another vendor's with no public
    version nor one yanked after its release) is unknown: nothing says it exists. So is an
    agent id naming no agent it can see, beside a plan it can."""
    orderable = orderable_agents(tenant)
    plan = (
        PricePlan.objects.select_for_update(no_key=True, of=("self",))
        .select_related("agent", "agent__tenant")
        .filter(agent__in=orderable, pk=plan_id)
        .first()
    )
    if plan is None:
        raise UnknownPlan("plan", plan_id)
    if plan.agent_id != agent_id:
        get_referenced(orderable, UnknownAgent, "agent", agent_id, pk=agent_id)
        raise PlanMismatch(f"Plan {plan_id} is not a plan of agent {agent_id}.")
    return plan


def _reject_overdue(tenant: Tenant, *, lock: bool = True) -> None:
    """While an invoice is uncollectible the tenant's entitlements are suspended for it
    (``suspend_for_non_payment``): a new order would give them back unpaid. Read under the
    tenant's standing lock, held until the order commits: a suspension made meanwhile waits
    for the order and suspends its entitlement too, or the order waits for the suspension
    and is refused. Without ``lock`` (a pending order charged again, its row locked through
    the processor's call, which must not hold the tenant's standing too) it reads what is
    committed: a suspension made meanwhile is seen by ``_complete``, which grants the
    entitlement suspended, reading the standing under its lock."""
    overdue = _uncollectible(tenant, lock=lock)
    if overdue is not None:
        raise PaymentOverdue(
            f"Invoice {overdue.number} could not be collected and your entitlements are "
            "suspended: pay it first (a card saved under /api/v1/billing/payment-methods is "
            "charged at once)."
        )


def _uncollectible(tenant: Tenant, *, lock: bool = True) -> Invoice | None:
    """The tenant's first uncollectible invoice, or None: the tenant is in good standing."""
    return uncollectible_invoices(tenant, lock=lock).order_by("finalized_at", "pk").first()


def uncollectible_invoices(tenant: Tenant | int, *, lock: bool = True):
    """The tenant's uncollectible invoices, what suspends it, read under its standing lock
    (``lock_standing``, taken here and held until the caller's transaction ends) unless
    ``lock`` is False."""
    if lock:
        lock_standing(tenant)
    return Invoice.objects.filter(tenant=tenant, status=InvoiceStatus.UNCOLLECTIBLE)


def _reject_own_agent(tenant: Tenant, agent: Agent) -> None:
    if agent.tenant_id == tenant.pk:
        raise OwnAgent("You cannot buy your own agent; you can already download it.")


def _reject_unavailable(agent: Agent) -> None:
    if not agent.tenant.is_active:
        raise NotAvailable(f"{agent.tenant.name} no longer sells {agent.name} on EdgePlug.")
    if not AgentVersion.objects.public().filter(agent=agent).exists():
        raise NotAvailable(f"{agent.name} has no certified, approved version to sell.")


def _reject_retired(plan: PricePlan) -> None:
    if refusal := not_offered(plan):
        raise refusal


def _reject_unconfigured_payments(plan: PricePlan) -> None:
    if plan.kind != PlanKind.FREE and not payments.configured():
        raise PaymentsNotConfigured(
            "Payments are not configured on this server; only free plans can be ordered."
        )


def _reject_missing_payment_method(tenant: Tenant, plan: PricePlan) -> None:
    if plan.kind != PlanKind.FREE and payments.default_payment_method(tenant) is None:
        raise PaymentMethodRequired(
            "Paid plans are charged to a saved card: add one under /api/v1/billing/payment-methods."
        )


def _price(plan: PricePlan, seats: int) -> pricing.Breakdown:
    if plan.kind == PlanKind.ONE_TIME:
        breakdown = pricing.price_one_time(plan.amount, plan.currency, seats)
        # A plan priced before the rule (``plans.validated_price``) may not be chargeable.
        if refusal := payments.unchargeable(plan.amount, plan.currency):
            raise NotAvailable(
                f"Plan {plan.key} cannot be paid by card ({refusal}): its vendor must revise "
                "its price."
            )
        # Seats of a chargeable price are chargeable but for the largest charge.
        if refusal := payments.above_maximum_charge(breakdown.total, plan.currency):
            raise AmountTooLarge(
                f"{seats} seats of plan {plan.key} cannot be paid in one card charge: "
                f"{refusal}. Order at most {MAXIMUM_CHARGE // plan.amount} seats at a time.",
                field="seats",
            )
        return breakdown
    return pricing.Breakdown(plan.currency, ())


# --- the actions -------------------------------------------------------------------------------


def place_order(
    tenant: Tenant,
    *,
    agent_id: int,
    plan_id: int,
    seats: int,
    idempotency_key: str | None,
    seen: Collection[str] | None = None,
    actor=None,
    request=None,
) -> tuple[Order, bool]:
    """(order, created). The same key and body return the order already made. With ``seen``
    (the fingerprints of the plan as the buyer read it: its If-Match), a plan whose terms
    changed since is refused (``plan_changed``) and nothing is written."""
    key = _require_key(idempotency_key)
    digest = request_digest(agent_id, plan_id, seats)
    try:
        with transaction.atomic(durable=True):
            _claim_key(tenant, key)
            existing = _replayed(tenant, key, digest)
            if existing is not None:
                return existing, False
            order = _create_order(
                tenant, agent_id, plan_id, seats, key, digest, seen, actor, request
            )
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer with its order.
        existing = _replayed(tenant, key, digest)
        if existing is None:
            raise
        return existing, False
    return order, True


def _claim_key(tenant: Tenant, key: str) -> None:
    """Requests of a tenant with one key go one at a time from here until the transaction
    ends, so the second finds the first's order (``_replayed``) instead of inserting beside
    it. Without the claim the second waited at the unique index for the first's payment
    (which writes the order's row) while holding the tenant's standing lock, which that
    payment takes next: a deadlock, answered 503. A transaction-level advisory lock on
    PostgreSQL, keyed by 64 bits of a hash of the tenant and the key (two pairs sharing them
    would only wait for each other); the embedded SQLite runs one write transaction at a time."""
    if connection.vendor != "postgresql":
        return
    claim = hashlib.blake2b(f"order:{tenant.pk}:{key}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(claim, "big", signed=True)]
        )


def _create_order(tenant, agent_id, plan_id, seats, key, digest, seen, actor, request) -> Order:
    _reject_non_customer(tenant)
    plan = _plan_for(tenant, agent_id, plan_id)
    reject_changed_since(
        plan,
        seen,
        f"Plan {plan.pk}'s terms changed since you read it: read the agent's plans again "
        "and order on its current terms.",
    )
    agent = plan.agent
    _reject_own_agent(tenant, agent)
    _reject_unavailable(agent)
    _reject_retired(plan)
    _reject_overdue(tenant)
    _reject_unconfigured_payments(plan)
    _reject_missing_payment_method(tenant, plan)
    breakdown = _price(plan, seats)
    order = Order.objects.create(
        tenant=tenant,
        agent=agent,
        plan=plan,
        seats=seats,
        currency=plan.currency,
        amount=breakdown.total,
        breakdown=breakdown.as_dict(),
        idempotency_key=key,
        request_digest=digest,
        created_by=actor,
    )
    record_event(
        "order_placed",
        request=request,
        actor=actor,
        tenant=tenant,
        target=f"order {order.pk}",
        details={"agent": agent.pk, "plan": plan.pk, "seats": seats, "amount": order.amount},
    )
    if plan.kind in (PlanKind.FREE, PlanKind.METERED):
        _complete(order)
    return order


def _complete(order: Order) -> Entitlement:
    """Mark the order completed and grant its entitlement; once, however often called."""
    if order.status != OrderStatus.COMPLETED:
        order.status = OrderStatus.COMPLETED
        order.completed_at = timezone.now()
        order.client_secret = order.failure_code = order.failure_detail = ""
        order.save(
            update_fields=[
                "status",
                "completed_at",
                "client_secret",
                "failure_code",
                "failure_detail",
                "updated_at",
            ]
        )
    entitlement = Entitlement.objects.filter(order=order).first()
    if entitlement is not None:
        return entitlement
    # An order placed in good standing and paid once an invoice became uncollectible (a
    # 3-D Secure challenge, a webhook coming late) is granted as the tenant's others stand:
    # suspended for that invoice, given back with them once it is paid.
    overdue = _uncollectible(order.tenant)
    entitlement = Entitlement.objects.create(
        order=order,
        tenant=order.tenant,
        agent=order.agent,
        plan=order.plan,
        plan_snapshot=order.plan.snapshot(),
        seats=order.seats,
        valid_from=order.completed_at,
        status=EntitlementStatus.SUSPENDED if overdue else EntitlementStatus.ACTIVE,
        status_reason=_non_payment_reason(overdue.number) if overdue else "",
    )
    record_change(
        "entitlement_granted",
        order,
        actor=order.created_by,
        target=f"entitlement {entitlement.pk}",
        details={
            "order": order.pk,
            "agent": order.agent_id,
            "seats": order.seats,
            "status": entitlement.status,
        },
    )
    refresh_listing(order.agent)
    return entitlement


def active_entitlements(tenant: Tenant | int, agent: Agent | int, now: datetime | None = None):
    """The tenant's entitlements to the agent in force at ``now`` (default: this moment)."""
    now = now or timezone.now()
    return Entitlement.objects.filter(tenant=tenant, agent=agent).in_force(now)


def no_entitlement(agent: Agent, tenant: Tenant | None = None) -> NotEntitled:
    """The refusal of what needs an entitlement in force to ``agent`` (a download, a
    deployment) when ``tenant`` holds none; its vendor never can (``_reject_own_agent``)."""
    if tenant is not None and agent.tenant_id == tenant.pk:
        return NotEntitled(
            f"{agent.name} is your own agent: a deployment needs an entitlement, which a "
            "vendor cannot buy of its own agent; run it from its download."
        )
    return NotEntitled(
        f"Your tenant holds no active entitlement to {agent.name}: order one of its plans."
    )


# --- payment ---------------------------------------------------------------------------------


def stripe_idempotency_key(order: Order) -> str:
    """Deterministic per order and attempt, so a retried call never charges twice."""
    return payments.idempotency_key("order", order, "attempt", order.payment_attempt)


# Stripe's failure code of a PaymentIntent whose 3-D Secure challenge failed.
AUTHENTICATION_FAILED = "payment_intent_authentication_failure"


def payment_may_change(order: Order) -> bool:
    """Whether the processor may know more than the order says: a payment is awaited, or a
    failed one may still succeed (after a failed 3-D Secure challenge the customer can
    confirm the same PaymentIntent again in the browser, with the client secret they hold)."""
    if order.amount == 0:
        return False
    if order.status == OrderStatus.FAILED:
        # Only a failed challenge: the customer held the client secret and may confirm the
        # intent again. A decline off-session never reached them (the webhook still tells).
        return bool(order.payment_intent_id) and order.failure_code == AUTHENTICATION_FAILED
    return order.status in (OrderStatus.PENDING, OrderStatus.REQUIRES_ACTION)


def collect_payment(order: Order) -> Order:
    """Charge a pending one-time order off-session on the tenant's default card, or bring a
    started payment up to date (the same order requested again, or read after 3-D Secure,
    or after paying again in the browser once it failed).

    Runs after ``place_order`` committed. The order row stays locked during the processor
    call so two retries of one request cannot both create a PaymentIntent.

    A charge the processor failed on (``PaymentProcessorError``, 502) leaves the order
    pending, and the next request for it tries again. With which Stripe idempotency key is the
    error's ``key_spent``: when Stripe refused the request itself (a 4xx about it), it would
    answer the same key the same way for good, so the attempt stays counted (committed, then
    the error raised) and the next try takes the next key; otherwise (unreachable, a timeout,
    a 5xx: the charge may have been made; a 401, a 429) the attempt rolls back and the next
    try sends the same key, which Stripe answers with the charge it made, if it made one."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(no_key=True, of=("self",))
            .select_related("tenant", "plan", "agent__tenant")
            .get(pk=order.pk)
        )
        if not payment_may_change(order):
            return order
        if order.payment_intent_id:
            # A retry, or the customer back from 3-D Secure: ask the processor how it went.
            outcome = payments.payment_status(order.payment_intent_id)
        else:
            outcome = _charge(order)
        if not isinstance(outcome, PaymentProcessorError):
            _apply_outcome(order, outcome)
            return order
    raise outcome  # the processor answered: its attempt is committed, the next takes a new key


def _charge(order: Order) -> payments.PaymentOutcome | PaymentProcessorError:
    """A new attempt at charging a locked, pending order without a PaymentIntent: its
    outcome, or the processor's failure that spent the attempt's idempotency key (the
    caller commits the attempt, then raises it). A failure that did not spend the key is
    raised at once, rolling the attempt back so the next try sends the same key."""
    # Since the order was placed (its first charge failed with a processor error) its agent
    # may have gone off sale, an invoice become uncollectible or the card been removed: the
    # same refusals as placing it then, and nothing charged. A plan revised or retired since
    # is not one: the order keeps the version it names, as it was offered.
    _reject_unavailable(order.agent)
    _reject_overdue(order.tenant, lock=False)
    _reject_missing_payment_method(order.tenant, order.plan)
    order.payment_attempt += 1
    order.save(update_fields=["payment_attempt", "updated_at"])
    return payments.charge_attempt(
        order.tenant,
        order.amount,
        order.currency,
        idempotency_key=stripe_idempotency_key(order),
        metadata={"order": str(order.pk), "tenant": str(order.tenant_id)},
    )


def sync_payment(outcome: payments.PaymentOutcome) -> Order | None:
    """A webhook said something happened to a PaymentIntent: apply the processor's current
    state of it (``outcome``, re-fetched by the caller), so duplicates and out-of-order
    deliveries change nothing. An intent that is not the order's payment changes nothing and
    raises ``PaymentNotOurs`` (``_refuse_foreign``)."""
    with transaction.atomic():
        order = _locked_order_of(outcome)
        if order is None:
            return None
        refusal = _refuse_foreign(order, outcome)
        if refusal is None:
            _apply_outcome(order, outcome)
            if outcome.status == payments.IntentState.SUCCEEDED and outcome.amount_refunded:
                _given_back(order, refunds=outcome.amount_refunded, source="processor")
    if refusal is not None:
        raise refusal  # told to finance, committed: the webhook acknowledges it
    return order


REFUNDED_IN_PART = "order_refunded_in_part"


def record_dispute(dispute: payments.Dispute) -> Order | None:
    """A charge of an order is disputed, or its dispute closed: told open once as an inquiry
    and once as a chargeback, closed once, never open once closed
    (``payments.Dispute.told_already``), on the order
    (``charge_disputed``, listed on *Money to give back* for finance to
    answer in Stripe; ``charge_dispute_closed``). A lost one is money taken back: once the
    order's refunds and lost disputes reach its price it is refunded (``source``
    ``chargeback``: its entitlement ends, the payout counts it), less is told as a refund in
    part (``_given_back``). None when no order has its PaymentIntent."""
    if not dispute.payment_intent:
        return None
    with transaction.atomic():
        rows = Order.objects.filter(payment_intent_id=dispute.payment_intent)
        order = lock_rows(rows.select_related("tenant", "agent")).first()
        if order is None or dispute.told_already():
            return order
        target = f"order {order.pk}"
        record_change(dispute.action, order, target=target, details=dispute.details())
        dispute.keep()
        if dispute.lost:
            lost = order.lost_in_disputes + dispute.amount
            _given_back(order, lost=lost, source="chargeback", dispute=dispute.id)
    return order


class GivenBack(NamedTuple):
    """What was given back of an order's price so far (minor units): ``refunds`` Stripe's
    refunds of the charge (its ``amount_refunded``, refunds only), ``lost`` the disputes the
    bank won."""

    refunds: int
    lost: int


def _given_back_so_far(order: Order) -> GivenBack:
    return GivenBack(order.refunded_in_stripe, order.lost_in_disputes)


def _failed_so_far(order: Order) -> int:
    """All the order's failed refunds counted back so far (``_count_back_failed_refund``):
    with what was given back so far, the key of its next ``GivenBackInPart``."""
    failed = order.given_back_in_part.filter(source=GivenBackSource.REFUND_FAILED)
    return -(failed.aggregate(total=Sum("amount"))["total"] or 0)


def _given_back(
    order: Order,
    *,
    source: str,
    refunds: int | None = None,
    lost: int | None = None,
    dispute: str = "",
) -> None:
    """Stripe told more of the locked order's payment given back: ``refunds`` (minor units,
    in all: its ``amount_refunded``) or ``lost`` (in all, to disputes), kept on the order
    (``refunded_in_stripe``, ``lost_in_disputes``). Once refunds and lost disputes reach the
    price the order is refunded (``source``: its entitlement ends, the payout counts it).
    Less leaves it completed and its entitlement on, and each new amount given back is kept
    once (``GivenBackInPart``: what the vendor's payout counts a refund of its month, with
    the refunded PaymentIntent or the lost ``dispute``) and told to finance
    (``order_refunded_in_part`` on *Money to give back*: ``amount`` the new one, ``refunded``
    all so far, of which ``refunds`` and ``lost``, ``price``). A refund in full gives back
    only the rest (``refund_order``), and the payout counts only the rest."""
    if order.status != OrderStatus.COMPLETED:
        return
    before = _given_back_so_far(order)
    now = GivenBack(max(before.refunds, refunds or 0), max(before.lost, lost or 0))
    if now == before:  # told already (a late or repeated event)
        return
    order.refunded_in_stripe, order.lost_in_disputes = now
    order.save(update_fields=["refunded_in_stripe", "lost_in_disputes", "updated_at"])
    if sum(now) >= order.amount > 0:
        _mark_refunded(order, actor=None, request=None, source=source)
        return
    logger.warning("order %s: %s of %s given back in Stripe", order.pk, sum(now), order.amount)
    lost_one, failed = now.lost > before.lost, _failed_so_far(order)
    GivenBackInPart.objects.create(
        order=order,
        amount=sum(now) - sum(before),
        given_back_so_far=sum(now),
        failed_so_far=failed,
        source=GivenBackSource.DISPUTE if lost_one else GivenBackSource.REFUND,
        reference=dispute if lost_one else order.payment_intent_id,
    )
    # ``failed``: the failed refunds counted back so far, the row's key with ``refunded``,
    # which marketplace 0022's fill leaves to the pod that wrote it.
    _tell_in_part(
        REFUNDED_IN_PART,
        order,
        sum(now) - sum(before),
        now,
        **({"failed": failed} if failed else {}),
    )


def _tell_in_part(action: str, order: Order, amount: int, now: GivenBack, **more) -> None:
    """Finance's row on *Money to give back* of ``amount`` given back of the order in part,
    or counted back (``action``), with all given back of it ``now``."""
    record_change(
        action,
        order,
        target=f"order {order.pk}",
        details={
            "order": order.pk,
            "payment_intent": order.payment_intent_id,
            "amount": amount,
            "refunded": sum(now),
            "refunds": now.refunds,
            "lost": now.lost,
            "price": order.amount,
            "currency": order.currency,
            **more,
        },
    )


REFUND_IN_PART_FAILED = "order_refund_in_part_failed"


def _count_back_failed_refund(order: Order, refund: payments.RefundState) -> None:
    """A refund of the locked, completed order made in Stripe's dashboard failed: what
    ``_given_back`` counted of it is counted back, once per refund. The order's
    ``refunded_in_stripe`` goes down by it (a refund in full then gives back the whole rest),
    a ``GivenBackInPart`` of minus what payouts counted of it is kept (the vendor's payout
    counts it back in the month the failure is told; the months before stay as they were
    sent; a refund told before marketplace 0022 was in no payout) and finance is told
    (``order_refund_in_part_failed`` on *Money to give back*: ``amount`` counted back,
    ``refund_amount`` the refund's, ``refunded`` all given back now).

    Counted back is the refund's amount, at most what the order counts beyond what Stripe
    gives back now (the charge's ``amount_refunded``, asked under the order's lock): nothing
    when the failure is told before the refund was ever counted (its ``charge.refunded``
    comes later, and finds nothing more given back), less when a later refund was made and
    not counted yet (the order then counts what Stripe gives back)."""
    if refund_failure_told(refund.id):
        return  # told already (a late or repeated event)
    refunded = payments.payment_status(order.payment_intent_id).amount_refunded
    back = min(refund.amount, order.refunded_in_stripe - refunded)
    if back <= 0:
        return
    failed_before = _failed_so_far(order)
    order.refunded_in_stripe -= back
    order.save(update_fields=["refunded_in_stripe", "updated_at"])
    now = _given_back_so_far(order)
    logger.warning("order %s: Stripe refund %s failed, %s counted back", order.pk, refund.id, back)
    # The payouts take back only what they counted: a refund told before marketplace 0022
    # kept no row, and no payout counted it.
    in_payouts = order.given_back_in_part.filter(
        source__in=(GivenBackSource.REFUND, GivenBackSource.REFUND_FAILED)
    ).aggregate(total=Sum("amount"))["total"]
    if (taken := min(back, in_payouts or 0)) > 0:
        GivenBackInPart.objects.create(
            order=order,
            amount=-taken,
            given_back_so_far=sum(now),
            failed_so_far=failed_before + taken,
            source=GivenBackSource.REFUND_FAILED,
            reference=refund.id,
        )
    _tell_in_part(
        REFUND_IN_PART_FAILED,
        order,
        back,
        now,
        refund=refund.id,
        refund_amount=refund.amount,
        failure_reason=refund.failure_reason or refund.status,
    )


def _refuse_foreign(order: Order, outcome: payments.PaymentOutcome) -> PaymentNotOurs | None:
    """An intent its metadata led to (``_locked_order_of``) pays the order only when it is
    the charge ``_charge`` made, whose answer was lost: the tenant's Stripe customer, the
    order's currency and amount (``payments.refuse_foreign_payment``); a stranger's 0.50 USD
    naming it completed a 15.00 EUR order. The intent the order stores is its own."""
    if outcome.payment_intent_id == order.payment_intent_id:
        return None
    return payments.refuse_foreign_payment(
        outcome,
        order.tenant,
        order.amount,
        order.currency,
        target=f"order {order.pk}",
        names={"order": order.pk},
    )


def _locked_order_of(outcome: payments.PaymentOutcome) -> Order | None:
    """The order a PaymentIntent charges, locked: the one that stores it, else the one its
    metadata names (``_charge``), of the tenant it names, while that order stores none: the
    processor made the charge but its answer never reached us (down, or a timeout)."""
    orders = Order.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "tenant", "plan"
    )
    stored = orders.filter(payment_intent_id=outcome.payment_intent_id).first()
    if stored is not None or not outcome.payment_intent_id:
        return stored
    named, tenant = outcome.metadata.get("order", ""), outcome.metadata.get("tenant", "")
    order_id, tenant_id = ascii_integer(named), ascii_integer(tenant)
    if order_id is None or tenant_id is None:
        return None
    return orders.filter(pk=order_id, tenant_id=tenant_id, payment_intent_id="").first()


def _apply_outcome(order: Order, outcome: payments.PaymentOutcome) -> None:
    if order.status in (OrderStatus.COMPLETED, OrderStatus.REFUNDED):
        return  # final states: a late or repeated event never moves them
    if order.status == OrderStatus.FAILED:
        _complete_if_paid_after_failure(order, outcome)
        return
    if outcome.payment_intent_id:
        order.payment_intent_id = outcome.payment_intent_id
    if outcome.status == payments.IntentState.SUCCEEDED:
        order.save(update_fields=["payment_intent_id", "updated_at"])
        _complete(order)
    elif outcome.status == payments.IntentState.REQUIRES_ACTION:
        order.status = OrderStatus.REQUIRES_ACTION
        order.client_secret = outcome.client_secret
        order.save(update_fields=["status", "client_secret", "payment_intent_id", "updated_at"])
    elif outcome.status == payments.IntentState.FAILED:
        order.status = OrderStatus.FAILED
        order.client_secret = ""
        order.failure_code = clipped(Order, "failure_code", outcome.failure_code)
        order.failure_detail = clipped(Order, "failure_detail", outcome.failure_message)
        order.save(
            update_fields=[
                "status",
                "client_secret",
                "failure_code",
                "failure_detail",
                "payment_intent_id",
                "updated_at",
            ]
        )
        record_change(
            "order_payment_failed",
            order,
            target=f"order {order.pk}",
            details={"code": outcome.failure_code},
        )
    else:
        order.save(update_fields=["payment_intent_id", "updated_at"])


def _complete_if_paid_after_failure(order: Order, outcome: payments.PaymentOutcome) -> None:
    """A failed order moves only when its own PaymentIntent succeeded after all (paid again
    in the browser after a failed 3-D Secure challenge): the money taken buys the order.
    Any other outcome, late failures and challenges included, leaves it failed."""
    own = bool(outcome.payment_intent_id) and outcome.payment_intent_id == order.payment_intent_id
    if outcome.status != payments.IntentState.SUCCEEDED or not own:
        return
    record_change(
        "order_paid_after_failure",
        order,
        target=f"order {order.pk}",
        details={"payment_intent": order.payment_intent_id, "previous_failure": order.failure_code},
    )
    _complete(order)


class Refund(NamedTuple):
    order: Order
    # The credit note of the order's invoice, when that invoice is finalized already.
    credit_note: Invoice | None


def record_failed_refund(refund: payments.RefundState) -> Order | None:
    """Stripe could not make a refund of an order after accepting it (the card was closed
    meanwhile). A refunded order stays refunded (its entitlement ended as the customer
    asked), and finance is told the money must go back another way: audit
    ``order_refund_failed``, once per refund. A completed one was refunded in part in
    Stripe's dashboard: what was counted of that refund is counted back
    (``_count_back_failed_refund``). None when no such order was paid by the refund's
    PaymentIntent."""
    if not refund.payment_intent:  # a refund of no PaymentIntent: never an order's
        return None
    with transaction.atomic():
        rows = Order.objects.filter(
            payment_intent_id=refund.payment_intent,
            status__in=(OrderStatus.REFUNDED, OrderStatus.COMPLETED),
        )
        # The refund's other events (and the order's) wait here, then find it told.
        order = lock_rows(rows).first()
        if order is None:
            return None
        if order.status == OrderStatus.COMPLETED:
            _count_back_failed_refund(order, refund)
        elif not failure_moot(order):
            _tell_refund_failed(order, refund)
    return order


def failure_moot(order: Order, refunds: list[payments.RefundState] | None = None) -> bool:
    """Whether a refund of the order that failed changes nothing now, by Stripe's refunds that
    went through (``refunds``, else asked now). Refunded: Stripe gave back its whole price all
    the same, with the disputes the bank won (a dashboard refund failed before it was
    counted, then the refund in full gave back all). Completed: the order counts no more
    given back than those refunds (nothing to count back: ``_count_back_failed_refund``)."""
    if refunds is None:
        refunds = payments.refunds_of(order.payment_intent_id)
    made = sum(r.amount for r in refunds if r.status in payments.REFUND_MADE)
    if order.status == OrderStatus.REFUNDED:
        return made + order.lost_in_disputes >= order.amount
    return order.refunded_in_stripe <= made


def refund_failure_told(refund_id: str) -> bool:
    """Whether the failure of the order's refund ``refund_id`` was told already: counted back
    while the order was completed (``_count_back_failed_refund``; a refund in full then gave
    back the whole rest), or told to finance once it was refunded (``order_refund_failed``).
    Told once either way, however often and in whatever state its events come."""
    return any(
        recorded(told, refund=refund_id) for told in (REFUND_IN_PART_FAILED, "order_refund_failed")
    )


def _tell_refund_failed(order: Order, refund: payments.RefundState) -> None:
    if not refund_failure_told(refund.id):
        logger.warning("order %s: Stripe refund %s failed", order.pk, refund.id)
        record_change(
            "order_refund_failed",
            order,
            target=f"order {order.pk}",
            details={
                "refund": refund.id,
                "amount": refund.amount,
                "currency": order.currency,
                "failure_reason": refund.failure_reason or refund.status,
            },
        )


def dispute_refusals(chosen: list[Order]) -> dict[int, PaymentDisputed]:
    """Of the ``chosen`` orders, each whose payment is under dispute -> why it cannot be
    refunded (``refund_order`` raises it before Stripe is asked; the admin's confirmation
    says it)."""
    disputes = payments.open_disputes([order.payment_intent_id for order in chosen])
    return {
        order.pk: _disputed(disputes[order.payment_intent_id])
        for order in chosen
        if order.payment_intent_id in disputes
    }


def _disputed(dispute: str) -> PaymentDisputed:
    return PaymentDisputed(
        f"Its payment is under dispute ({dispute}): Stripe refunds no disputed charge. "
        "Answer the dispute in Stripe's dashboard; once it is won, refund it here (a lost "
        "one gives the money back itself)."
    )


def refund_order(order: Order, *, actor=None, request=None) -> Refund:
    """A full refund (finance, from the admin): the money goes back, the entitlement ends.
    Refused while its payment is under dispute (``dispute_refusals``: 409
    ``payment_disputed``), nothing asked of Stripe nor written."""
    with transaction.atomic():
        # Locked before anything is read: what Stripe gave back meanwhile (a refund in part
        # counted back as it failed, a dispute opened) is told before or after, never between.
        order = locked(order)
        if not order.is_refundable:
            raise OrderNotRefundable(f"Order {order.pk} is {order.status}; only completed orders.")
        if refused := dispute_refusals([order]):
            raise refused[order.pk]
        # Only the rest of a price given back in part in Stripe (refunded in its dashboard, or
        # taken back by a lost dispute; told by its webhooks) goes back.
        # Its key names what was given back before: a retry after more was given back asks
        # another amount, which under the first key is Stripe's idempotency_error for a day.
        # Its metadata names the order, as EdgePlug's refunds do (``taken_back``).
        given = order.given_back_in_stripe
        if order.payment_intent_id and order.left_to_refund:
            after = ("after", given) if given else ()
            payments.refund(
                order.payment_intent_id,
                amount=order.left_to_refund if given else None,
                idempotency_key=payments.idempotency_key("refund-order", order, *after),
                metadata={"order": str(order.pk)},
            )
        credit_note = _mark_refunded(order, actor=actor, request=request, source="admin")
    return Refund(order, credit_note)


def _mark_refunded(order: Order, *, actor, request, source: str) -> Invoice | None:
    """Refund a completed order, once (its callers see to it that it is completed: the admin
    refuses any other, and ``sync_payment`` applies the intent's success first).

    The caller holds the order's row. The invoices that charged it (their credit note comes
    last, ``credit_refund``) are locked before its entitlement, in the order
    ``lock_standing`` gives: the dunning holds such an invoice while it suspends the tenant's
    entitlements, and a refund that took the entitlement first would wait for the invoice
    while the dunning waited for the entitlement. (An order ``sync_payment`` completed just
    now is on no finalized invoice yet.)"""
    if order.status == OrderStatus.REFUNDED:
        return None
    list(
        Invoice.objects.charging_order(order.pk)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    order.status, order.refunded_at = OrderStatus.REFUNDED, now
    order.save(update_fields=["status", "refunded_at", "updated_at"])
    # Its validity ends now too: the close bills an entitlement by its validity dates, so a
    # revoked one is billed (fee and hours) up to the refund and never after.
    Entitlement.objects.filter(order=order).exclude(status=EntitlementStatus.REVOKED).update(
        status=EntitlementStatus.REVOKED,
        status_reason=f"order {order.pk} refunded",
        valid_until=Least(Coalesce("valid_until", Value(now)), Value(now)),
        updated_at=now,
    )
    record_change(
        "order_refunded",
        order,
        actor=actor,
        request=request,
        target=f"order {order.pk}",
        details={"amount": order.amount, "currency": order.currency, "source": source},
    )
    refresh_listing(order.agent)
    # Billing corrects its invoice, if finalized, by a credit note now (else its month's
    # close credits it): the refund falls in the month it is given.
    answers = order_refunded.send(sender=Order, order_id=order.pk, actor=actor, request=request)
    return next((note for _, note in answers if note is not None), None)


# Lapsed entitlements read and expired at a time.
EXPIRY_CHUNK = 500


def expire_entitlements() -> int:
    """Mark entitlements whose validity has ended as expired (``lapsed``: active ones, and
    those suspended, for non-payment or otherwise); returns how many.

    Agent by agent, each in one transaction: its lapsed entitlements ``EXPIRY_CHUNK`` at a
    time, then its listing rebuilt once. A rebuild locks the agent and recounts its
    entitlements in force, so one a lapsed row was O(N²) for N lapsing together."""
    now = timezone.now()
    agents = Agent.objects.filter(pk__in=Entitlement.objects.lapsed(now).values("agent_id"))
    return sum(_expire_lapsed_of(agent, now) for agent in agents.order_by("pk"))


def _expire_lapsed_of(agent: Agent, now: datetime) -> int:
    lapsed = Entitlement.objects.lapsed(now).filter(agent=agent).select_related("tenant")
    expired = 0
    with transaction.atomic():
        # Each chunk is locked (and read again where another writer changed it first), so
        # its rows are still lapsed when they are expired, and stay so until the rebuild.
        for chunk in in_id_chunks(lock_rows(lapsed), EXPIRY_CHUNK):
            Entitlement.objects.filter(pk__in=[e.pk for e in chunk]).update(
                status=EntitlementStatus.EXPIRED, status_reason="validity ended", updated_at=now
            )
            for entitlement in chunk:
                record_change(
                    "entitlement_expired",
                    entitlement,
                    target=f"entitlement {entitlement.pk}",
                    details={"agent": entitlement.agent_id},
                )
            expired += len(chunk)
        if expired:
            refresh_listing(agent)
    return expired


# --- non-payment -------------------------------------------------------------------------------

NON_PAYMENT = "non-payment"


def lock_standing(tenant: Tenant | int) -> None:
    """Lock the tenant's row until the caller's transaction ends, before deciding its
    standing from what is committed: turning an invoice uncollectible and suspending
    (``suspend_for_non_payment``), lifting a suspension (``billing.collection.
    lift_suspension``: a payment, a void), an order's overdue check (``_reject_overdue``) and
    granting its entitlement (``_complete``).
    Each then reads the standing again (a new statement sees what the previous holder
    committed), so none decides from rows another has not committed yet: an entitlement an
    order is granting, one a lift is giving back, an invoice turning uncollectible. Every
    tenant has its row (not every tenant has a billing account).

    The lock is ``edgeplug.tenancy.services.lock_tenant`` (``FOR NO KEY UPDATE``): a tenant's
    own edit, a membership change or a default card chosen waits, or is waited for.

    Lock order. Actions that lock more than one of these take them in this order, several of
    a kind by primary key, so that no two wait for each other:

    1. the order refunded or paid (``refund_order``, ``sync_payment``, ``collect_payment``),
       or the plan an order is placed on (``_plan_for``);
    2. invoices: the one charged, paid or voided, or those that charged a refunded order;
    3. the tenant's row (this lock);
    4. entitlements;
    5. catalogue listings, by their agent's id (``refresh_listing``).

    The dunning holds its invoice across the Stripe call and takes the tenant only if the
    attempt fails for the last time; a refund in full holds its order across its Stripe calls
    (``refund_order``), and so does a failed refund counted back
    (``_count_back_failed_refund``): another action on that order waits for Stripe then."""
    lock_tenant(tenant)


def suspend_for_non_payment(tenant: Tenant, *, invoice_number: str) -> list[int]:
    """Suspend the tenant's active entitlements because an invoice became uncollectible
    (within the caller's transaction, which holds that invoice); returns the entitlements
    suspended. Under the tenant's standing lock: an order or a lift not committed yet is
    waited for, and its entitlements are suspended too."""
    lock_standing(tenant)
    return _switch_entitlements(
        tenant,
        Entitlement.objects.filter(status=EntitlementStatus.ACTIVE),
        to=EntitlementStatus.SUSPENDED,
        reason=_non_payment_reason(invoice_number),
        event="entitlement_suspended",
        invoice_number=invoice_number,
    )


def _non_payment_reason(invoice_number: str) -> str:
    return f"{NON_PAYMENT}: invoice {invoice_number} uncollectible"


def reactivate_after_payment(tenant: Tenant, *, invoice_number: str) -> list[int]:
    """Give back the entitlements suspended for non-payment that have not ended (the caller
    holds the tenant's standing lock and checked under it that nothing is uncollectible any
    more); those suspended for another reason stay suspended. One whose validity ended
    meanwhile (a cancelled plan) is not given back: it reads ``expired`` already
    (``with_status_at``), and ``expire_entitlements`` stores it so."""
    return _switch_entitlements(
        tenant,
        Entitlement.objects.filter(
            status=EntitlementStatus.SUSPENDED, status_reason__startswith=NON_PAYMENT
        ).not_ended(timezone.now()),
        to=EntitlementStatus.ACTIVE,
        reason="",
        event="entitlement_reactivated",
        invoice_number=invoice_number,
    )


def _switch_entitlements(
    tenant: Tenant, entitlements, *, to: str, reason: str, event: str, invoice_number: str
) -> list[int]:
    """Lock the tenant's ``entitlements``, set each one's status and reason, audit each with
    ``event`` and refresh the listings of their agents; returns their ids. Entitlements and
    then listings are locked in primary key order (``lock_standing``); the agents are read,
    not locked (a lock on them would hold up every row referring to them)."""
    switched = list(
        entitlements.filter(tenant=tenant)
        .select_for_update(of=("self",))
        .select_related("agent")
        .order_by("pk")
    )
    for entitlement in switched:
        entitlement.status = to
        entitlement.status_reason = reason
        entitlement.save(update_fields=["status", "status_reason", "updated_at"])
        record_event(
            event,
            tenant=tenant,
            target=f"entitlement {entitlement.pk}",
            details={"agent": entitlement.agent_id, "invoice": invoice_number},
        )
    agents = {entitlement.agent_id: entitlement.agent for entitlement in switched}
    for agent_id in sorted(agents):
        refresh_listing(agents[agent_id])
    return [entitlement.pk for entitlement in switched]
