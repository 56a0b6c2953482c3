"""An agent's price plans: list, create, change a plan's name or price, retire, and a
calculator that prices a month of agent-hours with the same pricing module billing uses."""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from edgeplug.tenancy.scoping import get_for_request
from marketplace import plans as plan_actions
from marketplace import pricing
from marketplace.errors import PlanChanged, PlanRetired
from marketplace.models import Agent, PlanKind, PricePlan
from marketplace.portal.access import vendor_page
from marketplace.portal.outcomes import perform, perform_and_flash, render_form
from marketplace.portal.plan_text import describe_plan
from marketplace.portal.price_forms import CalculatorForm, PlanForm, RevisePlanForm
from marketplace.powers import PUBLISH, TAKE_BACK

PLAN_FIELDS = ("key", "kind", *plan_actions.PRICE_FIELDS)


def _own_plan(request, agent_id: int, plan_id: int) -> PricePlan:
    """One of the agent's plans (any version); 404 for another vendor's or another agent's."""
    return get_for_request(
        PricePlan.objects.select_related("agent"), request, agent_id=agent_id, pk=plan_id
    )


def _quote(form: CalculatorForm, metered) -> pricing.Breakdown | None:
    if not form.is_valid():
        return None
    plan = next(p for p in metered if p.pk == form.cleaned_data["plan"])
    terms = pricing.parse_metered_terms(plan.currency, plan.terms)
    return pricing.price_usage(terms, form.cleaned_data["hours"])


def _lines(breakdown: pricing.Breakdown) -> list[tuple[str, str, str]]:
    return [
        (
            line.description,
            str(line.quantity),
            pricing.format_amount(line.amount, breakdown.currency),
        )
        for line in breakdown.lines
    ]


@require_http_methods(["GET", "POST"])
@vendor_page(power=TAKE_BACK, writes=PUBLISH)
def pricing_page(request, agent_id):
    agent = get_for_request(Agent.objects.all(), request, pk=agent_id)
    form = PlanForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        outcome = perform(
            request,
            plan_actions.create_plan,
            agent,
            **{f: form.cleaned_data[f] for f in PLAN_FIELDS},
            success=lambda plan: f"Plan {plan.name} is offered.",
        )
        if outcome.error is None:
            return redirect("portal:pricing", agent_id=agent.pk)
        error = outcome.error
    current = list(agent.plans.filter(is_current=True).order_by("key"))
    metered = [p for p in current if p.kind == PlanKind.METERED and p.is_orderable]
    calculator = CalculatorForm(request.GET if "hours" in request.GET else None, plans=metered)
    breakdown = _quote(calculator, metered) if metered else None
    context = {
        "agent": agent,
        "plans": [(p, describe_plan(p)) for p in current],
        "calculator": calculator,
        "has_metered": bool(metered),
        "breakdown": breakdown,
        "lines": _lines(breakdown) if breakdown else [],
        "total": pricing.format_amount(breakdown.total, breakdown.currency) if breakdown else "",
    }
    return render_form(request, "portal/pricing.html", context, form=form, error=error)


def _saved(before: PricePlan, after: PricePlan) -> str:
    """What saving a plan's revision did, naming the version that is offered now."""
    if after.pk != before.pk:
        return (
            f"Plan {after.name} is v{after.version} for new orders; those who hold "
            f"v{before.version} keep its terms."
        )
    if all(getattr(before, f) == getattr(after, f) for f in plan_actions.PRICE_FIELDS):
        return f"Plan {after.name} v{after.version} is unchanged: nothing to save."
    return f"Plan {after.name} v{after.version} is changed in place: nobody held it yet."


@require_http_methods(["GET", "POST"])
@vendor_page(power=PUBLISH)
def revise(request, agent_id, plan_id):
    """A plan's new name or price, through the API's action: a version someone holds stays
    as it is and the change becomes the next version; one nobody holds is edited in place."""
    plan = _own_plan(request, agent_id, plan_id)
    form = RevisePlanForm(request.POST or None, plan=plan)
    if request.method == "POST" and form.is_valid():
        outcome = perform(
            request,
            plan_actions.revise_plan,
            plan,
            **{f: form.cleaned_data[f] for f in plan_actions.PRICE_FIELDS},
            seen=[form.cleaned_data["seen"]] if form.cleaned_data["seen"] else None,
            success=lambda revised: _saved(plan, revised),
        )
        if outcome.error is None:
            url = reverse("portal:pricing", args=[agent_id])
            return redirect(f"{url}#plan-{plan.key}")
        error = outcome.error
        if isinstance(error, PlanChanged):  # the form again, as the plan is now
            form = RevisePlanForm(plan=plan)
    else:
        error = plan_actions.not_offered(plan)
    held = plan_actions.is_held(plan)
    context = {
        "agent": plan.agent,
        "plan": plan,
        "words": describe_plan(plan),
        "retired": isinstance(error, PlanRetired),
        "held": held,
        "submit": f"Save as v{plan.version + 1}" if held else "Save changes",
    }
    return render_form(request, "portal/plan_revise.html", context, form=form, error=error)


@require_http_methods(["GET", "POST"])
@vendor_page(power=TAKE_BACK)
def retire(request, agent_id, plan_id):
    """Asks first (GET), then retires (POST): new orders can no longer choose the plan, and
    that cannot be undone. A refusal (a version a revision replaced, from a page left open)
    is flashed on the pricing page."""
    plan = _own_plan(request, agent_id, plan_id)
    if request.method == "GET":
        return render(request, "portal/plan_retire.html", {"agent": plan.agent, "plan": plan})
    success = f"Plan {plan.name} is retired: no new orders; holders keep it."
    perform_and_flash(request, plan_actions.retire_plan, plan, success=success)
    return redirect("portal:pricing", agent_id=agent_id)
