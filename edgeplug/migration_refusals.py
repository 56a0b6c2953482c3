"""What a migration that refuses to go back (``IrreversibleError``) says of the rows that stop
it: how many, and the first ones named. Imported by migrations, so it depends on nothing else
of the project and keeps its behaviour for them."""

from collections.abc import Callable

NAMED_AT_MOST = 20


def named_rows(rows, describe: Callable[[object], str]) -> tuple[int, str]:
    """How many ``rows`` (an ordered queryset) there are, and the first ``NAMED_AT_MOST`` in
    ``describe``'s words, joined by "; ", followed by "; and N more" when there are more."""
    total = rows.count()
    names = [describe(row) for row in rows[:NAMED_AT_MOST]]
    more = f"; and {total - len(names)} more" if total > len(names) else ""
    return total, "; ".join(names) + more
