"""Version orderings per ecosystem and the OSV range evaluation algorithm.

`match_affected` follows the `IsVulnerable` pseudocode of the OSV schema ("Evaluation"): events
are sorted by version, `introduced` sets vulnerable, `fixed` (exclusive) and `last_affected`
(inclusive) clear it, and `limit` events bound the range from above; an explicit `versions` list
matches too. GIT ranges need the repository's commit graph, which an offline scan does not have,
so they are skipped (their `versions` list, when present, still counts).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import semver
from packaging.version import Version as Pep440Version

from certification.security.osv import OsvAffected, OsvRange, ecosystem_base


@dataclass(frozen=True)
class Ordering:
    """A total order over one ecosystem's version strings.

    `parse` returns a sort key; it raises ValueError for a string that is not a version in this
    scheme (PEP 440 and SemVer are strict; the Maven, Debian and generic orders accept any string).
    """

    name: str
    parse: Callable[[str], Any]


class _PaddedKey:
    """Lexicographic order over token keys, the shorter side padded with `pad` tokens.

    Maven and the generic ordering both compare "1.0" equal to "1" and "1.0-rc1" below "1.0", which
    is exactly lexicographic order on infinite sequences padded with a neutral token. That is a
    total order by construction, which the Hypothesis tests check.
    """

    __slots__ = ("_pad", "_tokens")

    def __init__(self, tokens: Sequence[tuple[Any, ...]], pad: tuple[Any, ...]) -> None:
        trimmed = list(tokens)
        while trimmed and trimmed[-1] == pad:
            trimmed.pop()
        self._tokens = tuple(trimmed)
        self._pad = pad

    def _padded(self, length: int) -> tuple[tuple[Any, ...], ...]:
        return self._tokens + (self._pad,) * (length - len(self._tokens))

    def _cmp(self, other: object) -> int:
        if not isinstance(other, _PaddedKey) or other._pad != self._pad:
            return NotImplemented
        length = max(len(self._tokens), len(other._tokens))
        mine, theirs = self._padded(length), other._padded(length)
        return (mine > theirs) - (mine < theirs)

    def __eq__(self, other: object) -> bool:
        result = self._cmp(other)
        return result if result is NotImplemented else result == 0

    def __lt__(self, other: object) -> bool:
        result = self._cmp(other)
        return result if result is NotImplemented else result < 0

    def __le__(self, other: object) -> bool:
        result = self._cmp(other)
        return result if result is NotImplemented else result <= 0

    def __gt__(self, other: object) -> bool:
        result = self._cmp(other)
        return result if result is NotImplemented else result > 0

    def __ge__(self, other: object) -> bool:
        result = self._cmp(other)
        return result if result is NotImplemented else result >= 0

    def __hash__(self) -> int:
        return hash((self._tokens, self._pad))

    def __repr__(self) -> str:
        return f"_PaddedKey({self._tokens!r})"


def _pep440_key(version: str) -> Pep440Version:
    return Pep440Version(version)


def _semver_key(version: str) -> semver.Version:
    # OSV SEMVER strings carry no "v", but Go purls and tags do ("v1.9.0"): accept one.
    text = version[1:] if version[:1] in ("v", "V") else version
    return semver.Version.parse(text, optional_minor_and_patch=True)


# Maven "Version Order Specification" (maven.apache.org/pom.html): qualifiers in this order,
# unknown qualifiers after them alphabetically; "" (release) is what padding compares as.
_MAVEN_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_MAVEN_ALIASES = {"cr": "rc", "ga": "", "final": "", "release": ""}
_MAVEN_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}
_MAVEN_RELEASE = (1, (_MAVEN_QUALIFIERS.index(""), ""))


def _maven_qualifier_key(value: str) -> tuple[int, str]:
    if value in _MAVEN_QUALIFIERS:
        return (_MAVEN_QUALIFIERS.index(value), "")
    return (len(_MAVEN_QUALIFIERS), value)


def _maven_tokens(version: str) -> list[tuple[str, int | str]]:
    """Split into (separator, value) tokens as the Maven spec describes."""
    tokens: list[tuple[str, int | str]] = []
    parts = re.split(r"([.-])", version.lower())
    for index in range(0, len(parts), 2):
        separator = parts[index - 1] if index else ""
        # A digit/letter transition counts as a hyphen; an empty token counts as "0".
        pieces = re.findall(r"\d+|\D+", parts[index]) or ["0"]
        for position, piece in enumerate(pieces):
            prefix = separator if position == 0 else "-"
            if piece.isdigit():
                tokens.append((prefix, int(piece)))
                continue
            followed_by_number = position + 1 < len(pieces)
            value = _MAVEN_SHORT.get(piece, piece) if followed_by_number else piece
            tokens.append((prefix, _MAVEN_ALIASES.get(value, value)))
    return _trim_maven_nulls(tokens)


def _trim_maven_nulls(tokens: list[tuple[str, int | str]]) -> list[tuple[str, int | str]]:
    # Trailing nulls (0, "") go, then again before each remaining hyphen, from the end.
    index = len(tokens) - 1
    while index > 0:
        if tokens[index][1] in (0, ""):
            del tokens[index]
            index -= 1
            continue
        while index >= 0 and tokens[index][0] != "-":
            index -= 1
        index -= 1
    return tokens


def _maven_key(version: str) -> _PaddedKey:
    keys: list[tuple[Any, ...]] = []
    for prefix, value in _maven_tokens(version):
        if isinstance(value, int):
            # ".number" sorts above "-number": "1-1" < "1.1".
            keys.append((3 if prefix in (".", "") else 2, value))
        else:
            # ".qualifier" == "-qualifier", both below any number.
            keys.append((1, _maven_qualifier_key(value)))
    return _PaddedKey(keys, _MAVEN_RELEASE)


class _DebianKey:
    """dpkg's version comparison (deb-version(7)): epoch, upstream version, revision."""

    __slots__ = ("epoch", "revision", "upstream")

    def __init__(self, version: str) -> None:
        epoch, colon, rest = version.partition(":")
        if not colon:
            epoch, rest = "0", version
        if not epoch.isdigit():
            raise ValueError(f"invalid Debian epoch in {version!r}")
        upstream, dash, revision = rest.rpartition("-")
        if not dash:
            upstream, revision = rest, ""
        self.epoch = int(epoch)
        self.upstream = upstream
        self.revision = revision

    @staticmethod
    def _order(char: str) -> int:
        if char == "~":
            return -1
        if char.isalpha():
            return ord(char)
        return ord(char) + 256

    @classmethod
    def _compare_part(cls, left: str, right: str) -> int:
        i = j = 0
        while i < len(left) or j < len(right):
            # Non-digit run, character by character; "~" sorts before the end of the string.
            while (i < len(left) and not left[i].isdigit()) or (
                j < len(right) and not right[j].isdigit()
            ):
                lc = cls._order(left[i]) if i < len(left) and not left[i].isdigit() else 0
                rc = cls._order(right[j]) if j < len(right) and not right[j].isdigit() else 0
                if lc != rc:
                    return lc - rc
                i += 1
                j += 1
            # Digit run, compared numerically.
            start_i, start_j = i, j
            while i < len(left) and left[i].isdigit():
                i += 1
            while j < len(right) and right[j].isdigit():
                j += 1
            lnum = int(left[start_i:i] or "0")
            rnum = int(right[start_j:j] or "0")
            if lnum != rnum:
                return lnum - rnum
        return 0

    def _cmp(self, other: _DebianKey) -> int:
        if self.epoch != other.epoch:
            return self.epoch - other.epoch
        return self._compare_part(self.upstream, other.upstream) or self._compare_part(
            self.revision, other.revision
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DebianKey) and self._cmp(other) == 0

    def __lt__(self, other: _DebianKey) -> bool:
        return self._cmp(other) < 0

    def __le__(self, other: _DebianKey) -> bool:
        return self._cmp(other) <= 0

    def __gt__(self, other: _DebianKey) -> bool:
        return self._cmp(other) > 0

    def __ge__(self, other: _DebianKey) -> bool:
        return self._cmp(other) >= 0

    __hash__ = None  # type: ignore[assignment]  # equal keys can have different spellings


_GENERIC_PAD = (1, 0, "")


def _generic_key(version: str) -> _PaddedKey:
    """Numbers compare numerically and above letters; letters compare alphabetically.

    Separators are ignored ("1.0-1" == "1.0.1"). Padding with zero makes "1.0" == "1.0.0",
    "1.0rc1" < "1.0" (a trailing word reads as a pre-release) and "1.0-1" > "1.0". One leading
    "v" before a digit is ignored.
    """
    text = version.lower()
    if re.match(r"v\d", text):
        text = text[1:]
    keys = [
        (1, int(piece), "") if piece.isdigit() else (0, 0, piece)
        for piece in re.findall(r"\d+|[a-z]+", text)
    ]
    return _PaddedKey(keys, _GENERIC_PAD)


PYPI = Ordering("PyPI", _pep440_key)
SEMVER = Ordering("SemVer", _semver_key)
MAVEN = Ordering("Maven", _maven_key)
DEBIAN = Ordering("Debian", _DebianKey)
GENERIC = Ordering("generic", _generic_key)

# ECOSYSTEM ranges use the ecosystem's own ordering. Ecosystems that mandate SemVer use it;
# the rest (NuGet, RubyGems, Packagist, Alpine, ...) use the documented generic ordering.
_ECOSYSTEM_ORDERINGS = {
    "PyPI": PYPI,
    "Maven": MAVEN,
    "npm": SEMVER,
    "Go": SEMVER,
    "crates.io": SEMVER,
    "Hex": SEMVER,
    "Pub": SEMVER,
    "Debian": DEBIAN,
    "Ubuntu": DEBIAN,
}


def ecosystem_ordering(ecosystem: str) -> Ordering:
    return _ECOSYSTEM_ORDERINGS.get(ecosystem_base(ecosystem), GENERIC)


def range_ordering(range_type: str, ecosystem: str) -> Ordering:
    return SEMVER if range_type == "SEMVER" else ecosystem_ordering(ecosystem)


# No real version is this long; refusing longer strings bounds parsing work on hostile input
# (and keeps int() below Python's digit limit).
MAX_VERSION_LENGTH = 256


@functools.lru_cache(maxsize=65536)
def _parse(ordering: Ordering, version: str) -> Any:
    if len(version) > MAX_VERSION_LENGTH:
        raise ValueError(f"version longer than {MAX_VERSION_LENGTH} characters")
    return ordering.parse(version)


def is_comparable(version: str, ecosystem: str) -> bool:
    """Whether the ecosystem's own ordering understands `version` (no generic fallback needed)."""
    try:
        _parse(ecosystem_ordering(ecosystem), version)
    except ValueError:
        return False
    return True


# Sort keys are (rank, key): rank 0 for introduced "0", 2 for limit "*", so the sentinels sit
# below/above every real version without comparing a sentinel against a parsed key.
_BEFORE_ALL = (0,)
_AFTER_ALL = (2,)


def _bound_key(kind: str, version: str, ordering: Ordering) -> tuple[Any, ...]:
    if kind == "introduced" and version == "0":
        return _BEFORE_ALL
    if kind == "limit" and version == "*":
        return _AFTER_ALL
    return (1, _parse(ordering, version))


@dataclass(frozen=True)
class RangeResult:
    vulnerable: bool
    next_fix: str | None


def _evaluate(version: str, range_: OsvRange, ordering: Ordering) -> RangeResult:
    current = (1, _parse(ordering, version))
    bounds = [(_bound_key(event.kind, event.version, ordering), event) for event in range_.events]
    limits = [key for key, event in bounds if event.kind == "limit"]
    if limits and not any(current < key for key in limits):
        return RangeResult(vulnerable=False, next_fix=None)
    vulnerable = False
    # sorted() is stable, so events at equal versions keep the record's order: the spec's
    # "introduced 1.0, fixed 2.0, introduced 2.0" keeps 2.0 vulnerable, as written.
    for key, event in sorted(bounds, key=lambda pair: pair[0]):
        if event.kind == "introduced" and current >= key:
            vulnerable = True
        elif event.kind == "fixed" and current >= key:  # noqa: SIM114 - one branch per spec line
            vulnerable = False
        elif event.kind == "last_affected" and current > key:
            vulnerable = False
    if not vulnerable:
        return RangeResult(vulnerable=False, next_fix=None)
    fixes = [
        (key, event.version) for key, event in bounds if event.kind == "fixed" and key > current
    ]
    next_fix = min(fixes, key=lambda pair: pair[0])[1] if fixes else None
    return RangeResult(vulnerable=True, next_fix=next_fix)


def evaluate_range(version: str, range_: OsvRange, ecosystem: str) -> tuple[RangeResult, bool]:
    """Evaluate one SEMVER or ECOSYSTEM range; the flag says the generic ordering stood in.

    A version the ecosystem's ordering rejects (in the component or in the advisory) must not
    make the range silently unaffected, so the range is then evaluated with the generic ordering.
    """
    try:
        return _evaluate(version, range_, range_ordering(range_.type, ecosystem)), False
    except ValueError:
        pass
    try:
        return _evaluate(version, range_, GENERIC), True
    except ValueError:
        # Only an over-long version gets here; the component is reported as not comparable.
        return RangeResult(vulnerable=False, next_fix=None), True


def _in_versions(version: str, versions: tuple[str, ...], ordering: Ordering) -> bool:
    if version in versions:
        return True
    # Same version, other spelling: "v1.2.0" in Go, "4.1.0.Final" in Maven, "0.12.01" in PyPI.
    try:
        wanted = _parse(ordering, version)
    except ValueError:
        return False
    for candidate in versions:
        try:
            if _parse(ordering, candidate) == wanted:
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True)
class AffectedMatch:
    """`version` is affected. `fixed_versions` holds the next fix of each matching range;
    `approximate` says every match relied on the generic fallback ordering."""

    fixed_versions: tuple[str, ...]
    approximate: bool


def match_affected(version: str, affected: OsvAffected) -> AffectedMatch | None:
    ecosystem = affected.package.ecosystem if affected.package else ""
    fixes: list[str] = []
    matched_exactly = matched_approximately = False
    for range_ in affected.ranges:
        if range_.type == "GIT":
            continue
        result, approximate = evaluate_range(version, range_, ecosystem)
        if not result.vulnerable:
            continue
        if approximate:
            matched_approximately = True
        else:
            matched_exactly = True
        if result.next_fix is not None and result.next_fix not in fixes:
            fixes.append(result.next_fix)
    listed = bool(affected.versions) and _in_versions(
        version, affected.versions, ecosystem_ordering(ecosystem)
    )
    if not (matched_exactly or matched_approximately or listed):
        return None
    return AffectedMatch(fixed_versions=tuple(fixes), approximate=not (matched_exactly or listed))
