"""Component licences are checked against each level's allow and deny lists."""

from __future__ import annotations

import pytest

from certification.security.licenses import evaluate_licenses
from certification.security.policy import SecurityPolicy
from certification.security.sbom import SbomComponent

BASIC = SecurityPolicy.for_level("basic")
STANDARD = SecurityPolicy.for_level("standard")
HARDWARE = SecurityPolicy.for_level("hardware")


def lib(*expressions: str, names: tuple[str, ...] = ()) -> SbomComponent:
    return SbomComponent(
        name="lib",
        version="1.0",
        purl="pkg:pypi/lib@1.0",
        license_expressions=expressions,
        license_names=names,
    )


def codes(component: SbomComponent, policy: SecurityPolicy) -> list[tuple[str, bool]]:
    return [(f.code, f.blocking) for f in evaluate_licenses(component, policy)]


@pytest.mark.parametrize("policy", [BASIC, STANDARD, HARDWARE], ids=lambda p: p.level)
def test_permissive_licences_pass_everywhere(policy):
    assert codes(lib("MIT"), policy) == []
    assert codes(lib("Apache-2.0", "BSD-3-Clause"), policy) == []


def test_network_copyleft_fails_standard_and_is_only_reported_at_basic():
    assert codes(lib("AGPL-3.0-only"), STANDARD) == [("license_denied", True)]
    assert codes(lib("AGPL-3.0-only"), BASIC) == [("license_denied", False)]


def test_non_commercial_licences_are_denied_for_a_marketplace():
    [finding] = evaluate_licenses(lib("CC-BY-NC-4.0"), STANDARD)

    assert (finding.code, finding.detail) == ("license_denied", "denied: CC-BY-NC-4.0")


def test_gpl_is_fine_for_standard_but_denied_in_firmware():
    assert codes(lib("GPL-3.0-only"), STANDARD) == []
    assert codes(lib("GPL-3.0-only"), HARDWARE) == [("license_denied", True)]
    assert codes(lib("LGPL-2.1-or-later"), HARDWARE) == [("license_denied", True)]


def test_deprecated_spdx_ids_are_read_as_their_current_form():
    assert codes(lib("GPL-2.0+"), HARDWARE) == [("license_denied", True)]
    assert codes(lib("GPL-2.0"), HARDWARE) == [("license_denied", True)]


def test_a_runtime_library_exception_is_allowed_in_firmware():
    # libgcc: GPL with the GCC runtime exception is linkable into proprietary firmware.
    assert codes(lib("GPL-3.0-or-later WITH GCC-exception-3.1"), HARDWARE) == []
    assert codes(lib("GPL-2.0-only WITH Classpath-exception-2.0"), HARDWARE) == [
        ("license_denied", True)
    ]


def test_or_needs_one_acceptable_choice_and_and_needs_all():
    assert codes(lib("MIT OR GPL-3.0-only"), HARDWARE) == []
    assert codes(lib("MIT AND GPL-3.0-only"), HARDWARE) == [("license_denied", True)]
    assert codes(lib("MIT AND (BSD-3-Clause OR GPL-2.0-only)"), HARDWARE) == []


def test_several_licence_entries_all_apply():
    assert codes(lib("MIT", "GPL-3.0-only"), HARDWARE) == [("license_denied", True)]


def test_hardware_allow_list_refuses_licences_not_on_it():
    [finding] = evaluate_licenses(lib("Artistic-2.0"), HARDWARE)

    assert (finding.code, finding.blocking) == ("license_not_allowed", True)
    assert "Artistic-2.0" in finding.detail
    assert codes(lib("Artistic-2.0"), STANDARD) == []


def test_vendor_licence_refs_pass_unless_the_policy_says_otherwise():
    assert codes(lib("LicenseRef-Acme-Proprietary"), HARDWARE) == []
    strict = HARDWARE.with_overrides({"allow_license_refs": False})
    assert codes(lib("LicenseRef-Acme-Proprietary"), strict) == [("license_not_allowed", True)]


def test_missing_licence_fails_only_where_required():
    assert codes(lib(), HARDWARE) == [("license_missing", True)]
    assert codes(lib(), STANDARD) == []


def test_unrecognised_licences_are_noted_and_refused_by_an_allow_list():
    by_name = lib(names=("Some Custom License",))
    assert codes(by_name, STANDARD) == [("license_unknown", False)]
    assert codes(by_name, HARDWARE) == [("license_not_allowed", True)]

    assert codes(lib("Not-A-Real-Id"), STANDARD) == [("license_unknown", False)]
    assert codes(lib("MIT AND ("), STANDARD) == [("license_expression_invalid", False)]
    assert codes(lib("MIT AND ("), HARDWARE) == [("license_not_allowed", True)]


def test_policy_lists_are_matched_case_insensitively_and_by_canonical_id():
    policy = STANDARD.with_overrides({"license_deny": ["gpl-2.0+", "mpl-2.0"]})

    assert codes(lib("GPL-2.0-or-later"), policy) == [("license_denied", True)]
    assert codes(lib("MPL-2.0"), policy) == [("license_denied", True)]
    assert codes(lib("AGPL-3.0-only"), policy) == []
