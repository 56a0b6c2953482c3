"""Randomly damaged packages are refused with a package error, never an unexpected crash."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.packageformat import PackageError, inspect_package

from .builders import FIRMWARE_SECTION, make_manifest, make_package

VALID = make_package(make_manifest(firmware=FIRMWARE_SECTION))

edits = st.lists(
    st.tuples(
        st.sampled_from(["replace", "delete", "insert"]),
        st.integers(min_value=0, max_value=len(VALID) - 1),
        st.integers(min_value=0, max_value=255),
    ),
    min_size=1,
    max_size=4,
)


def _apply(data: bytes, changes) -> bytes:
    damaged = bytearray(data)
    for operation, position, value in changes:
        position = min(position, len(damaged) - 1)
        if operation == "replace":
            damaged[position] = value
        elif operation == "delete":
            del damaged[position]
        else:
            damaged.insert(position, value)
    return bytes(damaged)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits)
def test_damaged_package_is_accepted_or_refused_with_a_code(changes):
    try:
        package = inspect_package(_apply(VALID, changes))
    except PackageError as refused:
        assert refused.code
        assert refused.status in (400, 413, 422)
    else:
        # Damage the checks tolerate (a timestamp, a version byte) must not change content.
        assert package.record.entries.keys() == inspect_package(VALID).record.entries.keys()
        for name, entry in package.entries.items():
            assert entry.sha256 == inspect_package(VALID).entries[name].sha256


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_are_refused_with_a_code(data):
    try:
        inspect_package(data)
    except PackageError as refused:
        assert refused.code
