"""Each ecosystem's versions sort the way its package manager sorts them, as a total order."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certification.security.versions import (
    DEBIAN,
    GENERIC,
    MAVEN,
    PYPI,
    SEMVER,
    Ordering,
    ecosystem_ordering,
    is_comparable,
)


def ascending(ordering: Ordering, *versions: str) -> None:
    keys = [ordering.parse(v) for v in versions]
    for (left, lk), (right, rk) in itertools.pairwise(zip(versions, keys, strict=True)):
        assert lk < rk, f"{left} < {right}"
        assert rk > lk and not rk < lk and lk != rk


def equal(ordering: Ordering, *versions: str) -> None:
    keys = [ordering.parse(v) for v in versions]
    assert all(key == keys[0] for key in keys), versions


def test_pypi_follows_pep_440():
    ascending(PYPI, "1.0.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1", "1.0.1", "1.10")
    equal(PYPI, "2.0", "2.0.0", "v2.0.0")
    equal(PYPI, "0.12.01", "0.12.1")


def test_semver_follows_semver_precedence_and_accepts_a_leading_v():
    ascending(
        SEMVER,
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
    )
    equal(SEMVER, "1.6.0", "v1.6.0", "1.6.0+build.5")
    ascending(SEMVER, "v0.0.0-20210101000000-abcdef123456", "v0.1.0")


def test_maven_follows_the_maven_version_order_specification():
    # Examples from maven.apache.org/pom.html, "Version Order Specification".
    ascending(MAVEN, "1", "1.1")
    ascending(MAVEN, "1-snapshot", "1", "1-sp")
    ascending(MAVEN, "1-foo2", "1-foo10")
    ascending(MAVEN, "1-foo", "1-1", "1.1")
    equal(MAVEN, "1.foo", "1-foo")
    equal(MAVEN, "1.ga", "1-ga", "1-0", "1.0", "1")
    ascending(MAVEN, "1-ga", "1-sp")
    ascending(MAVEN, "1-ga.1", "1-sp.1")
    ascending(MAVEN, "1-sp-1", "1-ga-1")
    equal(MAVEN, "1-ga-1", "1-1")
    equal(MAVEN, "1-a1", "1-alpha-1")
    ascending(
        MAVEN,
        "1.0-alpha-1",
        "1.0-beta-1",
        "1.0-milestone-1",
        "1.0-rc-1",
        "1.0-SNAPSHOT",
        "1.0",
        "1.0-sp-1",
        "1.0-abc",
        "1.0-1",
        "1.0.1",
    )
    equal(MAVEN, "1.0-cr-1", "1.0-RC1")


def test_maven_orders_real_log4j_and_netty_versions():
    ascending(
        MAVEN,
        "2.0-alpha1",
        "2.0-beta9",
        "2.0-rc1",
        "2.0",
        "2.3",
        "2.3.1",
        "2.3.2",
        "2.4",
        "2.12.1",
        "2.12.2",
        "2.13.0",
        "2.14.1",
        "2.15.0",
    )
    ascending(MAVEN, "4.0.56.Final", "4.1.0.Final", "4.1.94.Final", "4.1.99.Final", "4.1.100.Final")
    equal(MAVEN, "4.1.99.Final", "4.1.99")


def test_debian_follows_dpkg():
    # deb-version(7): "~" sorts before anything, even the end; epoch wins over everything.
    ascending(DEBIAN, "1.0~rc1", "1.0", "1.0-1", "1.0-1+deb12u1", "1.0a", "1.1", "1:0.9")
    ascending(DEBIAN, "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "3.0.11-1", "3.0.13-1~deb12u1")
    equal(DEBIAN, "1.0", "0:1.0", "1.00")


def test_generic_ordering_treats_trailing_words_as_pre_releases():
    ascending(GENERIC, "1.0.0.pre", "1.0.0.rc1", "1.0", "1.0-1", "1.0.2", "1.2", "1.10")
    equal(GENERIC, "1.0", "1.0.0", "v1.0.0", "1.00")
    # Separators carry no meaning in the generic order.
    equal(GENERIC, "1.0-1", "1.0.1", "1_0_1")


def test_ecosystems_pick_their_ordering():
    assert ecosystem_ordering("PyPI") is PYPI
    assert ecosystem_ordering("Maven") is MAVEN
    assert ecosystem_ordering("npm") is SEMVER
    assert ecosystem_ordering("Go") is SEMVER
    assert ecosystem_ordering("Debian:12") is DEBIAN
    assert ecosystem_ordering("RubyGems") is GENERIC
    assert ecosystem_ordering("SomethingNew") is GENERIC


@pytest.mark.parametrize(
    ("version", "ecosystem", "comparable"),
    [
        ("3.1.2", "PyPI", True),
        ("latest", "PyPI", False),
        ("v1.5.0", "Go", True),
        ("1.2.3.4", "npm", False),
        ("anything-at-all", "Maven", True),
    ],
)
def test_strict_ecosystems_say_when_a_version_is_not_theirs(version, ecosystem, comparable):
    assert is_comparable(version, ecosystem) is comparable


# --- total-order properties -------------------------------------------------------------------

maven_token = st.one_of(
    st.integers(0, 30).map(str),
    st.sampled_from(
        [
            *("alpha", "beta", "milestone", "a", "b", "m", "rc", "cr", "snapshot", "ga"),
            *("final", "release", "sp", "foo", "bar", "", "Final", "RC"),
        ]
    ),
)
maven_versions = st.builds(
    lambda first, rest: first + "".join(sep + token for sep, token in rest),
    maven_token,
    st.lists(st.tuples(st.sampled_from([".", "-", ""]), maven_token), max_size=5),
)
debian_versions = st.builds(
    lambda epoch, upstream, revision: f"{epoch}{upstream}{revision}",
    st.sampled_from(["", "0:", "1:", "2:"]),
    st.from_regex(r"[0-9][0-9a-z.+~]{0,8}", fullmatch=True),
    st.sampled_from(["", "-1", "-2", "-1~deb12u1", "-1+b1", "-0ubuntu1"]),
)
generic_versions = st.text(alphabet="0123456789.-_abcrz~v", max_size=12)
semver_versions = st.builds(
    lambda major, minor, patch, pre: f"{major}.{minor}.{patch}{pre}",
    st.integers(0, 5),
    st.integers(0, 12),
    st.integers(0, 12),
    st.sampled_from(["", "-alpha", "-alpha.1", "-beta.2", "-beta.11", "-rc.1", "-0.3.7"]),
)

ORDERED = [
    (MAVEN, maven_versions),
    (DEBIAN, debian_versions),
    (GENERIC, generic_versions),
    (SEMVER, semver_versions),
]


@pytest.mark.parametrize(("ordering", "versions"), ORDERED, ids=lambda x: getattr(x, "name", ""))
def test_orderings_are_total_orders(ordering, versions):
    @given(versions, versions, versions)
    def check(a, b, c):
        ka, kb, kc = ordering.parse(a), ordering.parse(b), ordering.parse(c)
        # Exactly one of <, ==, > holds, and the mirrored comparisons agree.
        assert (ka < kb) + (ka == kb) + (ka > kb) == 1
        assert (ka < kb) == (kb > ka)
        assert (ka <= kb) == (ka < kb or ka == kb)
        # Transitivity of < and of ==.
        if ka < kb and kb < kc:
            assert ka < kc
        if ka == kb and kb == kc:
            assert ka == kc
        if ka == kb:
            assert (ka < kc) == (kb < kc)

    check()


@pytest.mark.parametrize(("ordering", "versions"), ORDERED, ids=lambda x: getattr(x, "name", ""))
def test_sorting_agrees_with_pairwise_comparison(ordering, versions):
    @given(st.lists(versions, min_size=2, max_size=8))
    def check(values):
        keys = sorted(ordering.parse(v) for v in values)
        assert all(left <= right for left, right in itertools.pairwise(keys))

    check()
