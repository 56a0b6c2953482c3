"""Whether a version is affected follows the OSV evaluation algorithm, on real advisories."""

from __future__ import annotations

import copy
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certification.security.osv import OsvAffected, OsvEvent, OsvPackage, OsvRange, parse_osv_record
from certification.security.versions import match_affected
from tests.security import advisories


def check(raw: dict, version: str) -> tuple[str, ...] | None:
    """Fixed versions if `version` is affected by any affected entry of the record, else None."""
    matches = [m for a in parse_osv_record(raw).affected if (m := match_affected(version, a))]
    if not matches:
        return None
    return tuple(fix for m in matches for fix in m.fixed_versions)


@pytest.mark.parametrize(
    ("version", "fixes"),
    [
        ("2.14.1", ("2.15.0",)),
        ("2.13.0", ("2.15.0",)),  # introduced is inclusive
        ("2.15.0", None),  # fixed is exclusive
        ("2.12.1", ("2.12.2",)),
        ("2.12.2", None),
        ("2.12.3", None),  # between the 2.12 fix and 2.13.0
        ("2.4", ("2.12.2",)),
        ("2.4.1", ("2.12.2",)),
        ("2.3", ("2.3.1",)),
        ("2.3.1", None),
        ("2.3.2", None),
        ("2.0-beta9", ("2.3.1",)),
        ("2.17.1", None),
    ],
)
def test_log4shell_affects_exactly_its_published_ranges(version, fixes):
    assert check(advisories.LOG4SHELL, version) == fixes


@pytest.mark.parametrize(
    ("version", "fixes"),
    [
        ("3.1.14", None),
        ("3.2", ("3.2.20",)),
        ("3.2.19", ("3.2.20",)),
        ("3.2.20", None),
        ("4.0", ("4.1.10",)),
        ("4.1.9", ("4.1.10",)),
        ("4.1.10", None),
        ("4.2.2", ("4.2.3",)),
        ("4.2.3", None),
        ("5.0", None),
    ],
)
def test_django_branches_are_separate_ranges(version, fixes):
    assert check(advisories.DJANGO_VALIDATOR_REDOS, version) == fixes


@pytest.mark.parametrize(
    ("version", "affected"),
    [("1.4.0", True), ("1.10.0", True), ("1.11.0", True), ("1.11.1", False), ("2.0.0", False)],
)
def test_last_affected_is_inclusive(version, affected):
    assert (check(advisories.PY_SVN_REDOS, version) is not None) is affected


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("4.0.56.Final", False),
        ("4.1.0.Final", True),
        ("4.1.94.Final", True),
        ("4.1.99.Final", True),
        ("4.1.99", True),
        ("4.1.100.Final", False),
    ],
)
def test_maven_final_versions_and_last_affected(version, affected):
    # Range evaluation only: the record is withdrawn, which the scan (not the range) handles.
    assert (check(advisories.NETTY_WITHDRAWN, version) is not None) is affected


@pytest.mark.parametrize(
    ("version", "fixes"),
    [
        ("v1.5.0", ("1.6.0",)),
        ("1.5.0", ("1.6.0",)),
        ("v1.6.0-rc.1", ("1.6.0",)),
        ("v1.6.0", None),
        ("v1.9.1", None),
    ],
)
def test_semver_ranges_accept_go_style_versions(version, fixes):
    assert check(advisories.GIN_LOG_INJECTION, version) == fixes


def test_semver_range_from_the_osv_specification_example():
    assert check(advisories.RUSTSEC_HTTP, "0.1.19") == ("0.1.20",)
    assert check(advisories.RUSTSEC_HTTP, "0.1.20") is None
    assert check(advisories.RUSTSEC_HTTP, "0.2.0") is None


def test_two_branches_of_urllib3():
    assert check(advisories.URLLIB3_COOKIE, "1.26.16") == ("1.26.17",)
    assert check(advisories.URLLIB3_COOKIE, "1.26.17") is None
    assert check(advisories.URLLIB3_COOKIE, "2.0.5") == ("2.0.6",)
    assert check(advisories.URLLIB3_COOKIE, "2.0.6") is None


def only_versions_list(raw: dict) -> dict:
    """The record with its ECOSYSTEM range removed, so only the GIT range and the list remain."""
    derived = copy.deepcopy(raw)
    for affected in derived["affected"]:
        affected["ranges"] = [r for r in affected["ranges"] if r["type"] == "GIT"]
    return derived


def test_explicit_versions_list_matches_even_without_a_usable_range():
    listed = only_versions_list(advisories.PYSEC_2023_74)

    assert check(listed, "2.30.0") == ()
    assert check(listed, "2.3.0") == ()
    assert check(listed, "2.31.0") is None
    assert check(listed, "2.2.1") is None


def test_versions_list_matches_other_spellings_of_the_same_version():
    listed = only_versions_list(advisories.PYSEC_2018_28)

    assert check(listed, "0.12.01") == ()
    assert check(listed, "0.12.001") == ()
    assert check(listed, "2.19.1") == ()
    assert check(listed, "2.20.0") is None


def test_git_ranges_alone_never_match():
    git_only = only_versions_list(advisories.PYSEC_2023_74)
    git_only["affected"][0]["versions"] = []

    assert check(git_only, "2.30.0") is None


def test_an_unparseable_version_falls_back_to_the_generic_order_and_says_so():
    [affected] = parse_osv_record(advisories.JINJA2_XMLATTR).affected

    match = match_affected("3.1.2-vendored", affected)

    assert match is not None and match.approximate
    assert match_affected("3.1.2", affected).approximate is False


# --- properties of the algorithm on generated ranges -----------------------------------------

versions = st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9))


def semver(v: tuple[int, int, int]) -> str:
    return ".".join(map(str, v))


def affected_by(version: str, *events: tuple[str, str], type_: str = "SEMVER") -> bool:
    range_ = OsvRange(type=type_, events=tuple(OsvEvent(k, v) for k, v in events))
    return (
        match_affected(version, OsvAffected(OsvPackage("npm", "x"), ranges=(range_,))) is not None
    )


@given(st.lists(versions, min_size=3, max_size=3, unique=True))
def test_introduced_is_inclusive_and_fixed_is_exclusive(triple):
    low, high, probe = min(triple[:2]), max(triple[:2]), triple[2]

    result = affected_by(semver(probe), ("introduced", semver(low)), ("fixed", semver(high)))

    assert result == (low <= probe < high)


@given(st.lists(versions, min_size=3, max_size=3, unique=True))
def test_last_affected_bounds_inclusively(triple):
    low, high, probe = min(triple[:2]), max(triple[:2]), triple[2]

    result = affected_by(
        semver(probe), ("introduced", semver(low)), ("last_affected", semver(high))
    )

    assert result == (low <= probe <= high)


@given(versions, versions)
def test_introduced_zero_means_every_earlier_version(probe, fix):
    assert affected_by(semver(probe), ("introduced", "0"), ("fixed", semver(fix))) == (probe < fix)


@given(versions, versions, versions)
def test_limit_caps_an_open_range(probe, start, limit):
    result = affected_by(semver(probe), ("introduced", semver(start)), ("limit", semver(limit)))

    assert result == (start <= probe < limit)


@given(
    st.lists(versions, min_size=2, max_size=8, unique=True).map(sorted),
    versions,
    st.randoms(use_true_random=False),
)
def test_event_order_in_the_record_does_not_matter(bounds, probe, shuffler: random.Random):
    # Pairs of sorted bounds are disjoint intervals [introduced, fixed).
    pairs = list(zip(bounds[::2], bounds[1::2], strict=False))  # an odd last bound is unused
    events = [e for lo, hi in pairs for e in (("introduced", semver(lo)), ("fixed", semver(hi)))]
    shuffler.shuffle(events)

    expected = any(lo <= probe < hi for lo, hi in pairs)

    assert affected_by(semver(probe), *events) == expected
    assert affected_by(semver(probe), *events, type_="ECOSYSTEM") == expected


@given(st.lists(versions, max_size=6), versions)
def test_versions_list_is_plain_membership(listed, probe):
    affected = OsvAffected(OsvPackage("npm", "x"), versions=tuple(semver(v) for v in listed))

    assert (match_affected(semver(probe), affected) is not None) == (probe in listed)
