"""An advisory's severity comes from its CVSS vector, else from the database's own label."""

from __future__ import annotations

import copy

import pytest

from certification.security.osv import OsvSeverity, parse_osv_record
from certification.security.severity import (
    Severity,
    assess_cvss,
    assess_severity,
    severity_from_label,
)
from tests.security import advisories


def assessed(raw: dict):
    record = parse_osv_record(raw)
    return assess_severity(record, record.affected[0])


@pytest.mark.parametrize(
    ("raw", "severity", "score"),
    [
        (advisories.LOG4SHELL, Severity.CRITICAL, 10.0),
        (advisories.LODASH_TEMPLATE, Severity.HIGH, 7.2),
        (advisories.DJANGO_VALIDATOR_REDOS, Severity.HIGH, 7.5),
        (advisories.REQUESTS_PROXY_AUTH, Severity.MEDIUM, 6.1),
        (advisories.URLLIB3_COOKIE, Severity.MEDIUM, 5.9),
        (advisories.JINJA2_XMLATTR, Severity.MEDIUM, 5.4),
    ],
    ids=lambda value: value["id"] if isinstance(value, dict) else str(value),
)
def test_cvss_v3_vectors_give_base_score_and_rating(raw, severity, score):
    result = assessed(raw)

    assert (result.severity, result.score, result.source) == (severity, score, "CVSS_V3")
    assert result.vector == raw["severity"][0]["score"]


def test_cvss_v4_vectors_are_scored():
    result = assessed(advisories.JINJA2_ATTR_SANDBOX)

    assert (result.severity, result.score, result.source) == (Severity.MEDIUM, 5.4, "CVSS_V4")


def test_cvss_v2_is_scored_with_nvd_bands():
    result = assess_cvss(OsvSeverity("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"))

    assert (result.severity, result.score) == (Severity.HIGH, 7.5)


def test_the_newest_cvss_version_is_preferred():
    raw = copy.deepcopy(advisories.JINJA2_ATTR_SANDBOX)
    raw["severity"].insert(
        0, {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
    )

    assert assessed(raw).source == "CVSS_V4"


def test_database_label_is_used_when_there_is_no_vector():
    # The requests advisory with its vector removed: GHSA's own "MODERATE" label remains.
    raw = copy.deepcopy(advisories.REQUESTS_PROXY_AUTH)
    del raw["severity"]

    result = assessed(raw)

    assert (result.severity, result.score, result.source) == (
        Severity.MEDIUM,
        None,
        "database_specific",
    )


def test_ecosystem_label_is_used_when_that_is_all_there_is():
    result = assessed(advisories.RUSTSEC_HTTP)

    assert (result.severity, result.source) == (Severity.HIGH, "ecosystem_specific")


@pytest.mark.parametrize("raw", [advisories.GIN_LOG_INJECTION, advisories.PYSEC_2023_74])
def test_no_severity_data_is_unknown(raw):
    assert assessed(raw).severity is Severity.UNKNOWN


def test_a_malformed_vector_falls_through_to_the_label():
    raw = copy.deepcopy(advisories.LOG4SHELL)
    raw["severity"] = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/garbage"}]

    result = assessed(raw)

    assert (result.severity, result.source) == (Severity.CRITICAL, "database_specific")


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("CRITICAL", Severity.CRITICAL),
        ("HIGH", Severity.HIGH),
        ("Important", Severity.HIGH),
        ("MODERATE", Severity.MEDIUM),
        ("medium", Severity.MEDIUM),
        ("LOW", Severity.LOW),
        ("negligible", Severity.LOW),
        ("whatever", None),
        (7, None),
    ],
)
def test_database_labels_map_to_severities(label, severity):
    assert severity_from_label(label) is severity


def test_severities_rank_for_gates():
    ranks = [s.rank for s in (Severity.NONE, Severity.LOW, Severity.MEDIUM, Severity.HIGH)]
    assert ranks == sorted(ranks)
    assert Severity.CRITICAL.rank > Severity.HIGH.rank
    assert Severity.UNKNOWN.rank < Severity.NONE.rank
