"""Vendor price plans: create, revise (a new version once anyone holds the plan), retire."""

from collections.abc import Collection, Iterator
from contextlib import contextmanager

from django.db import transaction

from billing import payments
from edgeplug.audit.services import field_changes, record_change
from edgeplug.core.fingerprint import fingerprint
from edgeplug.core.locking import locked, stamp_locked, unique_or
from edgeplug.text import unreadable
from marketplace import pricing
from marketplace.catalogue import refresh_listing
from marketplace.errors import (
    InvalidPlan,
    InvalidPlanName,
    PlanChanged,
    PlanKeyExists,
    PlanRetired,
)
from marketplace.models import Agent, PlanKind, PricePlan

PRICE_FIELDS = ("name", "currency", "amount", "terms")


def _reject_unreadable_name(name: str) -> None:
    """The plan's name is printed on its buyers' invoices and read in the catalogue
    (``unreadable``: a name of only invisible characters shows as a blank there)."""
    if refusal := unreadable(name):
        raise InvalidPlanName("name", refusal)


def validated_price(
    kind: str, currency: str, amount: int, terms: dict, *, new_terms: bool = True
) -> tuple[str, int, dict]:
    """The plan's (currency, amount, terms) in stored form, or InvalidPlan saying why and
    naming the field to correct; ``new_terms`` when the terms are given now, not kept as
    stored (``check_new_hours``)."""
    if kind == PlanKind.FREE:
        _reject_price_on_free_plan(currency, amount, terms)
        return "", 0, {}
    with _refused_in("currency"):
        pricing.currency_exponent(currency)
    if kind == PlanKind.ONE_TIME:
        if terms:
            raise InvalidPlan("A one-time plan takes an amount, not metered terms.", field="terms")
        with _refused_in("amount"):
            total = pricing.price_one_time(amount, currency, 1).total
        if total <= 0:
            raise InvalidPlan(
                "A one-time plan needs an amount above zero (or use free).", field="amount"
            )
        if refusal := payments.unchargeable(amount, currency):
            raise InvalidPlan(
                f"A one-time plan is paid by card at checkout: {refusal}.", field="amount"
            )
        return currency, amount, {}
    if amount:
        raise InvalidPlan(
            "A metered plan is priced by its terms; amount must be 0.", field="amount"
        )
    with _refused_in("terms"):
        parsed = pricing.parse_metered_terms(currency, terms)
        if new_terms:
            pricing.check_new_hours(parsed)
    return currency, 0, pricing.terms_as_json(parsed)


@contextmanager
def _refused_in(field: str) -> Iterator[None]:
    """``pricing``'s refusal of what is inside, as ``InvalidPlan`` naming ``field``."""
    try:
        yield
    except pricing.InvalidPriceTerms as exc:
        raise InvalidPlan(str(exc), field=field) from exc


def _reject_price_on_free_plan(currency: str, amount: int, terms: dict) -> None:
    given = [
        name
        for name, value in (("currency", currency), ("amount", amount), ("terms", terms))
        if value
    ]
    if given:
        raise InvalidPlan(
            f"A free plan has no currency, amount or terms: leave out {', '.join(given)}.",
            field=given[0],
        )


@transaction.atomic
def create_plan(
    agent: Agent,
    *,
    key: str,
    name: str,
    kind: str,
    currency: str = "",
    amount: int = 0,
    terms: dict | None = None,
    actor=None,
    request=None,
) -> PricePlan:
    _reject_unreadable_name(name)
    currency, amount, terms = validated_price(kind, currency, amount, terms or {})
    # A key names one plan in any case ('Trial' is 'trial'): the agent's row, locked, makes
    # the look and the insert one step for its plans.
    Agent.objects.select_for_update().filter(pk=agent.pk).exists()
    same_key = PricePlan.objects.filter(agent=agent, key__iexact=key)
    held = same_key.values_list("key", flat=True).first()
    taken = PlanKeyExists(
        f"{agent.name} has a plan {held or key!r} already: a key names one plan for good, "
        "in any case (its orders go on naming it), even once retired. Choose another key; "
        "or, while that plan is offered, change its name or price for new orders instead: "
        "“Change name or price” on the portal's pricing page, or PATCH "
        "/api/v1/vendor/agents/{id}/plans/{plan_id}.",
        field="key",
    )
    if held is not None:
        raise taken
    with unique_or(taken):
        plan = PricePlan.objects.create(
            agent=agent,
            tenant=agent.tenant,
            key=key,
            name=name,
            kind=kind,
            currency=currency,
            amount=amount,
            terms=terms,
            created_by=actor,
        )
    _audit("price_plan_created", plan, actor, request)
    return plan


def not_offered(plan: PricePlan) -> PlanRetired | None:
    """Why the plan can no longer be revised: it is retired, or a revision replaced this
    version (None while it is offered)."""
    if plan.is_orderable:
        return None
    if plan.is_current:
        return PlanRetired(f"Plan {plan.key} v{plan.version} is retired: no longer offered.")
    newer = _version_on_offer(plan)
    where = f": v{newer.version} (id {newer.pk}) is on offer" if newer else ", since retired"
    return PlanRetired(f"Plan {plan.key} v{plan.version} was replaced by a revision{where}.")


def _version_on_offer(plan: PricePlan) -> PricePlan | None:
    """The version of ``plan``'s key that new orders take, if one is offered."""
    offered = PricePlan.objects.filter(agent=plan.agent_id, key=plan.key, is_current=True)
    return offered.filter(retired_at=None).first()


def is_held(plan: PricePlan) -> bool:
    """Whether any order or entitlement names this version (it is then immutable)."""
    return plan.orders.exists() or plan.entitlements.exists()


# What a plan's answer shows that can change: its name and price, and whether it is offered.
FINGERPRINTED = (*PRICE_FIELDS, "version", "is_current", "retired_at")


def plan_fingerprint(plan: PricePlan) -> str:
    """The plan as its answers show it, as one short token: its ETag at the API (so it
    changes whenever the answer does), and what a form that revises the plan carries
    (``revise_plan``'s ``seen``)."""
    return fingerprint(plan, FINGERPRINTED)


def reject_changed_since(plan: PricePlan, seen: Collection[str] | None, refusal: str) -> None:
    r"""Refuse (``plan_changed``, with the ``refusal`` wording) a plan no longer as it was seen:
    ``seen`` holds the ``plan_fingerprint``\s the caller read (None: no precondition)."""
    if seen is not None and plan_fingerprint(plan) not in seen:
        raise PlanChanged(refusal)


@transaction.atomic
def revise_plan(
    plan: PricePlan,
    *,
    actor=None,
    request=None,
    seen: Collection[str] | None = None,
    **changes,
) -> PricePlan:
    r"""Change a plan's name or price. A version someone holds is kept as it is and the
    change becomes the next version; one nobody holds yet is edited in place. With ``seen``
    (the ``plan_fingerprint``\s the change was made against: the one a form was opened with,
    those an API client's ``If-Match`` names), a plan changed since is refused
    (``plan_changed``), so a form opened before a colleague's change does not undo it unseen.
    An edit in place is audited as ``price_plan_edited`` with each changed field's ``from``
    and ``to`` (``details.fields``): the row keeps only the new terms."""
    plan = locked(plan)
    if refusal := not_offered(plan):
        raise refusal
    reject_changed_since(
        plan,
        seen,
        "This plan's name or price was changed since you read it (by someone else, or in "
        "another tab). Read it again and make your change on its current terms.",
    )
    values = {name: changes.get(name, getattr(plan, name)) for name in PRICE_FIELDS}
    _reject_unreadable_name(values["name"])
    currency, amount, terms = validated_price(
        plan.kind,
        values["currency"],
        values["amount"],
        values["terms"],
        new_terms="terms" in changes,
    )
    values.update(currency=currency, amount=amount, terms=terms)
    # Compared in stored form: terms stored before their hours were written plainly are the
    # same price as the same terms now. A price stored before a rule that refuses it now
    # (below the card minimum) is compared as stored: revising it is the way out.
    try:
        price = validated_price(plan.kind, plan.currency, plan.amount, plan.terms, new_terms=False)
    except InvalidPlan:
        price = (plan.currency, plan.amount, plan.terms)
    changed = field_changes(dict(zip(PRICE_FIELDS, (plan.name, *price), strict=True)), values)
    if not changed:
        return plan
    if not is_held(plan):
        for name, value in values.items():
            setattr(plan, name, value)
        plan.save(update_fields=list(PRICE_FIELDS))
        # The row keeps only the new terms: the event keeps what they were.
        _audit("price_plan_edited", plan, actor, request, fields=changed)
        return plan
    plan.is_current = False
    plan.save(update_fields=["is_current"])
    revised = PricePlan.objects.create(
        agent=plan.agent,
        tenant=plan.tenant,
        key=plan.key,
        version=plan.version + 1,
        kind=plan.kind,
        created_by=actor,
        **values,
    )
    _audit("price_plan_revised", revised, actor, request, previous=plan.version)
    return revised


@transaction.atomic
def retire_plan(plan: PricePlan, *, actor=None, request=None) -> PricePlan:
    """No new orders; existing entitlements keep their terms. Retiring it again changes
    nothing; a version a revision replaced is refused (``plan_retired``), naming the version
    on offer: retiring the old one would leave the plan on sale."""
    plan = locked(plan)
    if not plan.is_current and plan.retired_at is None:
        newer = _version_on_offer(plan)
        where = f": retire v{newer.version} (id {newer.pk}), the version on offer" if newer else ""
        raise PlanRetired(f"Plan {plan.key} v{plan.version} was replaced by a revision{where}.")
    return stamp_locked(
        plan, "retired_at", then=lambda row: _audit("price_plan_retired", row, actor, request)
    )


def _audit(action: str, plan: PricePlan, actor, request, **details) -> None:
    refresh_listing(plan.agent)
    record_change(
        action,
        plan,
        actor=actor,
        request=request,
        details={"plan_id": plan.pk, "kind": plan.kind, **details},
    )
