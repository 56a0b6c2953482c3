"""Each certification level has documented defaults, and stored overrides are validated."""

from __future__ import annotations

import dataclasses
import json

import pytest

from certification.security.errors import PolicyInvalid
from certification.security.policy import Level, SecurityPolicy
from certification.security.severity import Severity


def test_basic_reports_only():
    policy = SecurityPolicy.for_level("basic")

    assert policy.fail_on_severity is None
    assert not policy.blocks(Severity.CRITICAL)
    assert not policy.enforce_licenses


def test_standard_fails_on_critical_only():
    policy = SecurityPolicy.for_level(Level.STANDARD)

    assert policy.blocks(Severity.CRITICAL)
    assert not policy.blocks(Severity.HIGH)
    assert not policy.blocks(Severity.UNKNOWN)
    assert policy.enforce_licenses and "AGPL-3.0-only" in policy.license_deny


def test_hardware_fails_on_high_and_counts_unknown_as_high():
    policy = SecurityPolicy.for_level("hardware")

    assert policy.blocks(Severity.HIGH) and policy.blocks(Severity.CRITICAL)
    assert not policy.blocks(Severity.MEDIUM)
    assert policy.blocks(Severity.UNKNOWN)
    assert policy.require_license and "MIT" in policy.license_allow
    assert "GPL-3.0-only" in policy.license_deny


def test_every_level_requires_purls():
    assert all(SecurityPolicy.for_level(level).require_purls for level in Level)


def test_policies_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SecurityPolicy.for_level("standard").fail_on_severity = Severity.LOW  # type: ignore[misc]


def test_overrides_stored_as_json_round_trip():
    stored = json.loads(
        json.dumps(
            {
                "level": "standard",
                "fail_on_severity": "high",
                "license_deny": ["GPL-3.0-only"],
                "license_allow": [],
            }
        )
    )

    policy = SecurityPolicy.from_dict(stored)

    assert policy.fail_on_severity is Severity.HIGH
    assert policy.license_deny == frozenset({"GPL-3.0-only"})
    assert policy.enforce_licenses  # untouched settings keep the level's default
    assert SecurityPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


def test_gate_can_be_switched_off_with_null():
    policy = SecurityPolicy.for_level("hardware").with_overrides({"fail_on_severity": None})

    assert not policy.blocks(Severity.CRITICAL)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fail_on_severity": "severe"}, "fail_on_severity must be one of"),
        ({"fail_on_severity": "unknown"}, "cannot be unknown"),
        ({"unknown_severity_as": "unknown"}, "concrete severity"),
        ({"license_deny": "GPL-3.0-only"}, "list of SPDX ids"),
        ({"license_allow": ["MIT", ""]}, "non-empty"),
        ({"require_purls": "yes"}, "true or false"),
        ({"max_cvss": 7}, "unknown policy setting(s): max_cvss"),
    ],
)
def test_invalid_overrides_are_refused(overrides, message):
    with pytest.raises(PolicyInvalid) as caught:
        SecurityPolicy.for_level("standard").with_overrides(overrides)

    assert caught.value.code == "policy_invalid"
    assert message in caught.value.detail


def test_unknown_levels_are_refused():
    with pytest.raises(PolicyInvalid, match="unknown certification level"):
        SecurityPolicy.for_level("platinum")
    with pytest.raises(PolicyInvalid, match="needs a level"):
        SecurityPolicy.from_dict({"fail_on_severity": "low"})
