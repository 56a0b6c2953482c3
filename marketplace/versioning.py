"""SemVer 2.0 precedence as a sort key, so versions sort in SQL (build metadata ignored,
as the spec says)."""

from collections.abc import Iterable
from typing import TypeVar

import semver

T = TypeVar("T")


def _number(digits: str) -> str:
    # Length first, so 10 sorts after 9 (SemVer numbers have no leading zeros).
    return f"{len(digits):03d}{digits}"


def _identifier(part: str) -> str:
    # Numeric identifiers sort below alphanumeric ones; alphanumeric ones compare in ASCII
    # order, each character (0-9, A-Z, a-z, -) as two digits (its code minus 32, so 13 to 90),
    # ended by "00" so that a prefix sorts first.
    if part.isdigit():
        return "1" + _number(part)
    return "2" + "".join(f"{ord(char) - 32:02d}" for char in part) + "00"


def precedence_key(version: str) -> str:
    """A string of digits that sorts like the SemVer precedence of ``version``.

    Only digits, so every database collation orders it the same way: the registry sorts
    versions in SQL with it (``ORDER BY precedence DESC``) instead of loading them all.
    A release sorts above its pre-releases ("9" against "1"); a longer pre-release sorts above
    its prefix ("1" per further identifier against the "0" that ends the list).
    """
    parsed = semver.Version.parse(version)
    key = "".join(_number(str(n)) for n in (parsed.major, parsed.minor, parsed.patch))
    if not parsed.prerelease:
        return key + "9"
    return key + "".join("1" + _identifier(p) for p in parsed.prerelease.split(".")) + "0"


def newest_first(items: Iterable[T]) -> list[T]:
    """Items with a ``version`` attribute, highest SemVer precedence first (in Python, for
    versions already loaded; querysets sort in SQL with ``AgentVersion.objects.newest_first``)."""
    return sorted(items, key=lambda item: precedence_key(item.version), reverse=True)
