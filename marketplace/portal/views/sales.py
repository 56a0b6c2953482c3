"""Sales and usage: agent-hours, customers and revenue per agent and month, as charts, a
table and a CSV download. Revenue is for the vendor's admins and billing members."""

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from billing import payout_queries
from billing.csv_stream import csv_lines, download
from billing.errors import InvalidPeriod
from billing.periods import month_label, months_label, parse_month, recent_months
from billing.powers import READ_PAYOUTS
from edgeplug.core.error_views import refusal
from edgeplug.core.forms import TypedWholeNumberField
from marketplace import sales
from marketplace.portal.access import nothing_here, vendor_page
from marketplace.pricing import format_amount, plain_number


class PeriodForm(forms.Form):
    months = TypedWholeNumberField(
        min_value=1, max_value=36, required=False, label="Months shown", initial=12
    )


HOURS_STEP = Decimal("0.001")


def hours_text(hours: Decimal) -> str:
    """Agent-hours as a person reads them: at most three decimals, no trailing zeros
    ("12.5", "0", "150"); a nonzero amount below the last decimal shows as "< 0.001". The
    CSV download keeps the exact figure."""
    shown = Decimal(hours).quantize(HOURS_STEP, rounding=ROUND_HALF_UP)
    if not shown and hours:
        return f"< {HOURS_STEP}"
    return plain_number(shown)


DEFAULT_MONTHS = PeriodForm.base_fields["months"].initial


def _period(request) -> tuple[PeriodForm, int, list]:
    """The form, how many months it shows (the default when the field is left empty or the
    form is invalid) and their starts, oldest first."""
    form = PeriodForm(request.GET or None)
    count = (form.cleaned_data.get("months") if form.is_valid() else None) or DEFAULT_MONTHS
    return form, count, recent_months(count, timezone.now())


def _newest_month_first(rows, month: str) -> list:
    """``rows`` (oldest month first) with the newest month first, keeping their order within a
    month (agents A to Z, currencies A to Z)."""
    return sorted(rows, key=lambda row: getattr(row, month), reverse=True)


@require_safe
@vendor_page(power=READ_PAYOUTS)
def sales_page(request):
    form, count, months = _period(request)
    rows = sales.vendor_sales(request.tenant, months)
    table = [
        {
            "month": r.month,
            "agent": r.agent,
            "agent_hours": r.agent_hours,  # exact, as the CSV and the usage API count them
            "hours_shown": hours_text(r.agent_hours),
            "customers": len(r.customers),
            "revenue": ", ".join(format_amount(a, c) for c, a in sorted(r.revenue.items())),
        }
        for r in _newest_month_first(rows, "month")
    ]
    payouts = payout_queries.vendor_payouts(months[0], months[-1], vendor_id=request.tenant.pk)
    context = {
        "form": form,
        "table": table,
        "payouts": [
            {
                "period": row.period,
                **{
                    name: format_amount(getattr(row.payout, name), row.payout.currency)
                    for name in ("gross", "refunds", "platform_fee", "net")
                },
                "fee_percent": row.payout.fee_percent,
            }
            for row in _newest_month_first(payouts, "month")
        ],
        "chart": sales.chart_series(rows, months),
        "months": count,
    }
    return render(request, "portal/sales.html", context, status=400 if form.errors else 200)


@require_safe
@vendor_page(power=READ_PAYOUTS)
def sales_csv(request):
    form, _, months = _period(request)
    if form.errors:
        # The page's form never sends a bad count: an address edited by hand did.
        field = form["months"]
        why = f"{field.label}: {' '.join(field.errors)}"
        return refusal(request, InvalidPeriod(why, field="months"))
    header = ["month", "agent", "agent_hours", "customers", "currency", "revenue_minor_units"]

    def rows():
        # One row per currency; the month's agent-hours and customers on the first only, so
        # a spreadsheet summing the columns counts them once.
        for r in sales.vendor_sales(request.tenant, months):
            counts = [r.agent_hours, len(r.customers)]
            for currency, amount in sorted(r.revenue.items()) or [("", 0)]:
                yield [month_label(r.month), r.agent.name, *counts, currency, amount]
                counts = ["", ""]

    return download(
        csv_lines(header, rows()),
        f"sales-{request.tenant.slug}-{months_label(months[0], months[-1])}.csv",
        for_spreadsheets=True,
    )


@require_safe
@vendor_page(power=READ_PAYOUTS)
def payout_statement_csv(request, period):
    """The vendor's payout statement for one month, line by line (as the API's ``.csv``). A
    malformed period is refused as the API refuses it, ``400 invalid_period`` with its detail,
    on the portal's page (the address is followed in a browser)."""
    try:
        month = parse_month(period, field="period")
    except InvalidPeriod as exc:
        return refusal(request, exc)
    try:
        found = payout_queries.vendor_statement(request.tenant, month)
    except Http404:
        why = f"You had {payout_queries.NOTHING_TO_PAY_OUT}"
        back = ("portal:sales", "Back to Sales")
        return nothing_here(request, f"payout statement for {month_label(month)}", why, back)
    return download(*payout_queries.statement_file(request.tenant, found), for_spreadsheets=True)
