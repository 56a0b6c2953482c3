"""Calendar months as billing and finance name them: UTC months, their ``YYYY-MM`` labels, the
arithmetic between them, and the one parser every door reads a month with."""

import re
from datetime import UTC, date, datetime

from billing.errors import InvalidPeriod

# ASCII digits only, years 2000 to 2999 (so that the month after any of them exists too): what
# ``parse_month`` accepts, published as-is in the OpenAPI schema of every month parameter.
MONTH_PATTERN = r"^2[0-9]{3}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


def month_start(moment: datetime | date) -> datetime:
    """Midnight UTC on the first day of ``moment``'s month (in UTC)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(moment: datetime | date, count: int) -> datetime:
    """The start of the month ``count`` months after ``moment``'s (before, if negative)."""
    start = month_start(moment)
    index = start.year * 12 + start.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def next_month(moment: datetime | date) -> datetime:
    return add_months(moment, 1)


def previous_month(moment: datetime | date) -> datetime:
    return add_months(moment, -1)


def has_ended(month: datetime | date, now: datetime) -> bool:
    """Whether ``month`` (a UTC month, any moment in it) has ended at ``now``: its end, the
    first instant of the next month, has come."""
    return next_month(month) <= now


def last_closed_month(now: datetime) -> datetime:
    """The month the hourly close works on (after any earlier one it missed), and the finance
    pages open on: the one before ``now``'s."""
    return previous_month(now)


def month_label(start: datetime | date) -> str:
    return f"{start:%Y-%m}"


def months_label(first: datetime | date, last: datetime | date) -> str:
    """The months ``first`` to ``last`` as a file name says them: ``2026-03`` for one month,
    ``2026-01--2026-03`` for several."""
    first_label, last_label = month_label(first), month_label(last)
    return first_label if first_label == last_label else f"{first_label}--{last_label}"


def parse_month(label: str | None, *, field: str = "") -> datetime:
    """``"2026-03"`` → the first instant of March 2026 UTC; anything else is ``InvalidPeriod``,
    about ``field`` (the parameter that gave it) when the caller names one."""
    # fullmatch: ``$`` alone would let a trailing newline through.
    if not _MONTH.fullmatch(label or ""):
        said = f"{field} must be" if field else "A period is"
        raise InvalidPeriod(
            f"{said} a calendar month written YYYY-MM, years 2000 to 2999, e.g. 2026-03.",
            field=field,
        )
    year, month = label.split("-")
    return datetime(int(year), int(month), 1, tzinfo=UTC)


def optional_month(label: str | None, *, field: str = "") -> datetime | None:
    """A month query parameter: None when it is absent (the caller's default applies); given,
    it is read by ``parse_month``, so an empty value is ``InvalidPeriod`` like any other that
    is not a month, never taken for an absent one."""
    return None if label is None else parse_month(label, field=field)


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
