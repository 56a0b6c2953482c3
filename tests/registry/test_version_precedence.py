"""Versions sort in SQL by a key of digits that orders exactly like SemVer precedence."""

import random

import semver
from hypothesis import given
from hypothesis import strategies as st

from marketplace.versioning import precedence_key

numbers = st.integers(min_value=0, max_value=10**12).map(str)
alphanumeric = st.from_regex(r"\A[0-9A-Za-z-]*[A-Za-z-][0-9A-Za-z-]*\Z").filter(lambda s: s)
identifiers = st.one_of(numbers, alphanumeric.filter(lambda s: len(s) <= 12))
versions = st.builds(
    lambda core, pre: ".".join(core) + (f"-{'.'.join(pre)}" if pre else ""),
    st.lists(numbers, min_size=3, max_size=3),
    st.lists(identifiers, max_size=4),
)


def _order(a, b) -> int:
    return (a > b) - (a < b)


@given(versions, versions)
def test_keys_order_like_semver_precedence(a, b):
    assert _order(precedence_key(a), precedence_key(b)) == semver.Version.parse(a).compare(b)


@given(versions)
def test_keys_are_digits_so_every_collation_agrees(version):
    assert precedence_key(version).isdigit()


def test_the_specs_own_example_order():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.10.0",
    ]
    assert sorted(random.Random(0).sample(ordered, len(ordered)), key=precedence_key) == ordered
    assert precedence_key("1.0.0+build.7") == precedence_key("1.0.0")
