"""Reads of the hourly usage rollup: a tenant's agent-hours grouped as asked, and a vendor's
agents' hours per customer tenant and day."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.errors import InvalidPeriod, ReportTooLarge, UnknownGrouping
from billing.meter import billed_hours
from billing.models import UsageHour
from billing.periods import month_start, next_month
from edgeplug.tenancy.scoping import for_request
from edgeplug.timefmt import utc_iso

GROUPINGS = ("agent", "device", "day", "hour")
# What the API's schema publishes ``group_by`` as, and all parse_grouping takes.
_ONE_GROUPING = f"(?:{'|'.join(GROUPINGS)})"
GROUPING_PATTERN = f"^{_ONE_GROUPING}(?:,{_ONE_GROUPING})*$"
VENDOR_GROUPING = ("agent", "tenant", "day")
# Report columns per grouping: (column, rollup field).
_COLUMNS = {
    "agent": [
        ("agent", "agent_id"),
        ("agent_name", "agent__name"),
        ("vendor", "agent__tenant__slug"),
    ],
    "device": [("device", "device_id"), ("device_name", "device__name")],
    "tenant": [("tenant", "tenant__slug"), ("tenant_name", "tenant__name")],
    "day": [("day", "day")],
    "hour": [("hour", "hour")],
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return (
            datetime.combine(self.start, time(), tzinfo=UTC),
            datetime.combine(self.end, time(), tzinfo=UTC),
        )


def parse_period(params) -> Period:
    """from (inclusive) and to (exclusive) as UTC dates, YYYY-MM-DD. By default the current
    month; ``to`` alone, the month it closes (from the first of the month holding the day
    before it); ``from`` alone, up to the end of the current month; ``from`` after ``to`` is
    refused (``invalid_period``), ``from`` equal to it is the empty period. A report reads
    only the hourly rollup; the rows it answers are capped (``USAGE_REPORT_MAX_ROWS``, else
    ``report_too_large``)."""
    month = month_start(timezone.now())
    end = _date(params.get("to"), "to")
    if end == date.min:
        raise InvalidPeriod("to must be after 0001-01-01.", field="to")
    closed = month if end is None else datetime.combine(end - timedelta(days=1), time(), UTC)
    start = _date(params.get("from"), "from") or month_start(closed).date()
    stop = end or next_month(month).date()
    if start > stop:  # from == to is the empty period
        default = "" if end else ", the first of next month, when not given"
        raise InvalidPeriod(f"from ({start}) must not be after to ({stop}{default}).", field="from")
    return Period(start, stop)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: str | None, name: str) -> date | None:
    """The date a parameter names, None when it is absent (an empty value is not a date, as
    the schema says). Only YYYY-MM-DD: ``date.fromisoformat`` also reads 20260101 and week
    dates, which the schema does not publish."""
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidPeriod(f"{name} must be a date, YYYY-MM-DD.", field=name) from None


def parse_grouping(value: str) -> tuple[str, ...]:
    """``group_by`` read exactly as ``GROUPING_PATTERN`` publishes it (a name padded with a
    space, or an empty one after a comma, is refused as an unknown name is)."""
    if not re.fullmatch(GROUPING_PATTERN, value):
        raise UnknownGrouping(
            f"group_by is a comma list of {', '.join(GROUPINGS)}.", field="group_by"
        )
    asked = value.split(",")
    return tuple(g for g in GROUPINGS if g in asked)


def tenant_usage(request, period: Period, group_by: tuple[str, ...]) -> list[dict]:
    return _grouped(for_request(UsageHour.objects.all(), request), period, group_by)


def vendor_usage(request, period: Period) -> list[dict]:
    rows = for_request(UsageHour.objects.all(), request, field="agent__tenant")
    return _grouped(rows, period, VENDOR_GROUPING)


def columns(group_by: tuple[str, ...]) -> list[str]:
    return [column for g in group_by for column, _ in _COLUMNS[g]] + ["seconds", "agent_hours"]


def _grouped(rows, period: Period, group_by: tuple[str, ...]) -> list[dict]:
    start, end = period.bounds
    rows = rows.filter(hour__gte=start, hour__lt=end)
    if "day" in group_by:
        rows = rows.annotate(day=TruncDate("hour", tzinfo=UTC))
    fields = [(column, source) for g in group_by for column, source in _COLUMNS[g]]
    sources = [source for _, source in fields]
    grouped = rows.values(*sources).annotate(total=Sum("seconds")).order_by(*sources)
    limit = settings.USAGE_REPORT_MAX_ROWS
    grouped = list(grouped[: limit + 1])  # never more than the cap is held
    if len(grouped) > limit:
        raise ReportTooLarge(
            f"The report has more than {limit:,} rows: ask for a shorter period (from, to) or "
            "a coarser group_by."
        )
    report = []
    for values in grouped:
        row = {column: _plain(values[source]) for column, source in fields}
        row["seconds"] = values["total"]
        row["agent_hours"] = str(billed_hours(values["total"]))
        report.append(row)
    return report


def _plain(value):
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
