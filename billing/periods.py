"""Calendar months as finance names them: ``YYYY-MM`` labels for UTC months, parsed once."""

import re
from datetime import UTC, datetime

from billing.errors import InvalidPeriod
from billing.invoice_builder import month_start, next_month, previous_month

_LABEL = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(label: str | None) -> datetime:
    """``"2026-03"`` → the first instant of March 2026 UTC; anything else is ``InvalidPeriod``."""
    match = _LABEL.match(label or "")
    if not match or int(match.group(1)) < 2000:
        raise InvalidPeriod("A period is a calendar month written YYYY-MM, e.g. 2026-03.")
    return datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)


def months_between(first: datetime, last: datetime) -> list[datetime]:
    """Every month start from ``first`` to ``last``, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def recent_months(count: int, now: datetime) -> list[datetime]:
    """The ``count`` months up to and including the one ``now`` is in, oldest first."""
    months = [month_start(now)]
    while len(months) < count:
        months.insert(0, previous_month(months[0]))
    return months
