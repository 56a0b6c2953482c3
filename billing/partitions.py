"""The monthly partitions of the raw usage table on PostgreSQL (declarative range partitioning
on ``started_at``): their names, which exist, creating one, dropping one. Plain DDL on a cursor;
the migration that partitions the table and the retention action both use it."""

from datetime import UTC, datetime

from billing.periods import add_months

PARENT = "billing_usageevent"
DEFAULT = f"{PARENT}_default"
_PREFIX = f"{PARENT}_p"


def partition_name(month: datetime) -> str:
    return f"{_PREFIX}{month:%Y_%m}"


def month_of(name: str) -> datetime | None:
    """The month a partition named by ``partition_name`` holds; None for any other name."""
    if not name.startswith(_PREFIX):
        return None
    year, _, month = name.removeprefix(_PREFIX).partition("_")
    return datetime(int(year), int(month), 1, tzinfo=UTC)


def is_partitioned(cursor) -> bool:
    cursor.execute(
        "SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = to_regclass(%s)",
        [PARENT],
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def monthly_partitions(cursor) -> dict[datetime, str]:
    """month → partition name, for the monthly partitions attached to the raw table."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s)",
        [PARENT],
    )
    found = {}
    for (name,) in cursor.fetchall():
        month = month_of(name)
        if month is not None:
            found[month] = name
    return found


def create_month_partition(cursor, month: datetime) -> str:
    """Create the partition holding ``month``. Rows of that month that fell into the default
    partition meanwhile (the job was late) move into it, in the caller's transaction:
    PostgreSQL refuses a new partition while the default one holds rows of its range."""
    name, upper = partition_name(month), add_months(month, 1)
    bounds = f"FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE started_at >= %s AND started_at < %s)",  # noqa: S608 - our names
        [month, upper],
    )
    if not cursor.fetchone()[0]:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES {bounds}")
        return name
    cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}")
    cursor.execute(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES {bounds}")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE started_at >= %s AND started_at < %s "  # noqa: S608 - our names
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        [month, upper],
    )
    cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT")
    return name


def drop_partition(cursor, name: str) -> None:
    cursor.execute(f"DROP TABLE {name}")
