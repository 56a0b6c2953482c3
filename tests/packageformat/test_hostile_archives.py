"""Every archive in the hostile corpus is refused with its own code, before anything is kept."""

from __future__ import annotations

import pytest

from marketplace.packageformat import DEFAULT_LIMITS, Limits, PackageError, inspect_package
from marketplace.packageformat.errors import ERRORS_BY_CODE

from .hostile import HOSTILE_CASES


@pytest.mark.parametrize(
    ("name", "build", "code"), HOSTILE_CASES, ids=[c.name for c in HOSTILE_CASES]
)
def test_hostile_package_is_refused_with_its_code(name, build, code):
    with pytest.raises(PackageError) as refused:
        inspect_package(build(DEFAULT_LIMITS), DEFAULT_LIMITS)
    assert refused.value.code == code, refused.value.detail
    assert refused.value.status in (400, 413, 422)
    assert refused.value.as_dict()["code"] == code


@pytest.mark.parametrize(
    ("name", "build", "code"), HOSTILE_CASES, ids=[c.name for c in HOSTILE_CASES]
)
def test_hostile_package_is_refused_under_tighter_limits_too(name, build, code):
    limits = Limits(
        max_package_bytes=8 * 1024 * 1024,
        max_entries=16,
        max_total_uncompressed_bytes=16 * 1024 * 1024,
        max_manifest_bytes=16 * 1024,
        max_record_bytes=8 * 1024,
        max_string_length=2048,
        max_json_depth=12,
    )
    with pytest.raises(PackageError) as refused:
        inspect_package(build(limits), limits)
    assert refused.value.code == code, refused.value.detail


def test_corpus_is_large_and_names_are_unique():
    names = [case.name for case in HOSTILE_CASES]
    assert len(names) >= 30
    assert len(set(names)) == len(names)


def test_corpus_provokes_every_refusal_code():
    assert {case.code for case in HOSTILE_CASES} == set(ERRORS_BY_CODE)


def test_refusal_details_stay_short_even_for_huge_inputs():
    for _name, build, _code in HOSTILE_CASES:
        with pytest.raises(PackageError) as refused:
            inspect_package(build(DEFAULT_LIMITS))
        assert len(refused.value.detail) <= 400


def test_a_stored_package_holding_a_key_file_is_still_read_back():
    """Taken before packages were checked for key files: re-scans and runs still read it."""
    from .hostile import signing_key_file_packed

    package = signing_key_file_packed(DEFAULT_LIMITS)
    assert "keys/signing-key.json" in inspect_package(package, stored=True).entries


def test_a_json_file_naming_a_private_key_path_is_not_a_key_file():
    from .builders import make_package

    config = b'{"private_key": "/etc/device.key"}'
    inspect_package(make_package(files={"config/tls.json": config}))
