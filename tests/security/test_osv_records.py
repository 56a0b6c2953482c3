"""OSV records as databases publish them parse into typed records; malformed ones are refused."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from certification.security.errors import OsvRecordInvalid
from certification.security.osv import PackageKey, parse_osv_record
from tests.security import advisories


@pytest.mark.parametrize("raw", advisories.ALL, ids=lambda raw: raw["id"])
def test_every_real_advisory_parses(raw):
    record = parse_osv_record(raw)

    assert record.id == raw["id"]
    assert record.aliases == tuple(raw.get("aliases", ()))
    assert record.raw is raw


def test_log4shell_fields_are_read():
    record = parse_osv_record(advisories.LOG4SHELL)

    assert record.modified == datetime(2022, 3, 25, 20, 56, 18, tzinfo=UTC)
    assert record.published == datetime(2021, 12, 10, 0, 40, 56, tzinfo=UTC)
    assert record.withdrawn is None
    assert record.summary == "Remote code injection in Log4j"
    assert record.severity[0].type == "CVSS_V3"
    assert record.database_specific["severity"] == "CRITICAL"
    assert len(record.affected) == 3
    first = record.affected[0]
    assert first.package.ecosystem == "Maven"
    assert [(e.kind, e.version) for e in first.ranges[0].events] == [
        ("introduced", "2.13.0"),
        ("fixed", "2.15.0"),
    ]
    assert record.package_keys == {PackageKey("Maven", "org.apache.logging.log4j:log4j-core")}


def test_package_names_are_normalised_per_ecosystem():
    # The advisory writes "Jinja2" and "Django"; PyPI names compare PEP 503-normalised.
    assert parse_osv_record(advisories.JINJA2_ATTR_SANDBOX).package_keys == {
        PackageKey("PyPI", "jinja2")
    }
    assert parse_osv_record(advisories.DJANGO_VALIDATOR_REDOS).package_keys == {
        PackageKey("PyPI", "django")
    }
    assert parse_osv_record(advisories.LODASH_TEMPLATE).package_keys == {
        PackageKey("npm", "lodash"),
        PackageKey("npm", "lodash-es"),
    }


def test_timestamps_as_the_go_database_writes_them_parse():
    record = parse_osv_record(advisories.GIN_LOG_INJECTION)

    assert record.modified == datetime(1, 1, 1, tzinfo=UTC)
    assert record.published == datetime(2021, 4, 14, 20, 4, 52, tzinfo=UTC)


def test_a_time_with_an_offset_is_read_as_its_utc_instant():
    raw = copy.deepcopy(advisories.PYSEC_2018_28)
    raw["modified"] = "2024-01-01T00:30:00+01:00"

    modified = parse_osv_record(raw).modified

    assert modified == datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
    assert modified.tzinfo is UTC


def test_microsecond_and_nanosecond_timestamps_parse():
    raw = copy.deepcopy(advisories.PYSEC_2018_28)
    assert parse_osv_record(raw).modified.microsecond == 800813
    raw["modified"] = "2024-05-01T10:00:00.123456789Z"
    assert parse_osv_record(raw).modified.microsecond == 123456


def test_withdrawn_time_is_read():
    record = parse_osv_record(advisories.NETTY_WITHDRAWN)

    assert record.withdrawn == datetime(2023, 11, 1, 17, 54, 21, tzinfo=UTC)
    assert record.is_withdrawn()
    assert not record.is_withdrawn(at=datetime(2023, 10, 15, tzinfo=UTC))


def test_a_malformed_purl_inside_a_real_advisory_does_not_reject_it():
    record = parse_osv_record(advisories.PYSEC_2018_28)

    assert record.affected[0].package.purl == "pkg:pypi:requests"
    assert record.package_keys == {PackageKey("PyPI", "requests")}


def test_git_ranges_and_version_lists_are_kept():
    record = parse_osv_record(advisories.PYSEC_2023_74)

    git, ecosystem = record.affected[0].ranges
    assert (git.type, git.repo) == ("GIT", "https://github.com/psf/requests")
    assert ecosystem.type == "ECOSYSTEM"
    assert "2.30.0" in record.affected[0].versions


def broken(mutate) -> dict:
    raw = copy.deepcopy(advisories.REQUESTS_PROXY_AUTH)
    mutate(raw)
    return raw


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("id"), "record.id is required"),
        (lambda r: r.pop("modified"), "record.modified is required"),
        (lambda r: r.update(modified="last tuesday"), "not an RFC 3339 timestamp"),
        # Valid RFC 3339, but past the calendar once in UTC: year 10000, or 1 BC.
        (
            lambda r: r.update(modified="9999-12-31T23:30:00-01:00"),
            "modified is outside years 1-9999 in UTC",
        ),
        (
            lambda r: r.update(published="0001-01-01T00:30:00+01:00"),
            "published is outside years 1-9999 in UTC",
        ),
        (
            lambda r: r.update(withdrawn="9999-12-31T23:59:59-00:01"),
            "withdrawn is outside years 1-9999 in UTC",
        ),
        (lambda r: r.update(aliases="CVE-2023-32681"), "aliases must be a list of strings"),
        (lambda r: r.update(affected={"package": {}}), "affected must be a list"),
        (lambda r: r["affected"][0]["package"].pop("name"), "package.name is required"),
        (
            lambda r: r["affected"][0]["ranges"][0].update(type="RANGE"),
            "type must be one of SEMVER, ECOSYSTEM, GIT",
        ),
        (
            lambda r: r["affected"][0]["ranges"][0]["events"][0].update(fixed="2.31.0"),
            "exactly one of",
        ),
        (
            lambda r: r["affected"][0]["ranges"][0].update(events=[{"fixed": "2.31.0"}]),
            "at least one introduced",
        ),
        (lambda r: r["severity"].append({"type": "CVSS_V3"}), "severity[1].score is required"),
    ],
)
def test_records_that_break_the_schema_are_refused(mutate, message):
    with pytest.raises(OsvRecordInvalid) as caught:
        parse_osv_record(broken(mutate), source="GHSA-j8r2-6x86-q33q.json")

    assert caught.value.code == "osv_record_invalid"
    assert message in caught.value.detail
    assert caught.value.source == "GHSA-j8r2-6x86-q33q.json"


def test_a_non_object_record_is_refused():
    with pytest.raises(OsvRecordInvalid, match="record must be an object"):
        parse_osv_record(["GHSA-j8r2-6x86-q33q"])
