"""Severity of an OSV advisory: from its CVSS vector (the `cvss` library) or its database label.

Preference, per matched `affected` entry: a CVSS v4, then v3, then v2 vector (the newest
assessment the publisher made), the entry's own vectors before the record's (the OSV schema puts
per-package severity there), then a textual label (`database_specific.severity` as GHSA writes
"MODERATE", `ecosystem_specific.severity` as RustSec does). No data at all is `unknown`: the
policy decides what unknown counts as, never this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4, CVSSError

from certification.security.osv import OsvAffected, OsvRecord, OsvSeverity


class Severity(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Order for gates; unknown ranks below none until a policy maps it."""
        return _RANKS[self]


_RANKS = {
    Severity.UNKNOWN: -1,
    Severity.NONE: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}

# Labels used by the databases OSV aggregates: GHSA (MODERATE), Red Hat (Important),
# Ubuntu (negligible), Debian (unimportant), RustSec and Go (plain words).
_LABELS = {
    "none": Severity.NONE,
    "negligible": Severity.LOW,
    "unimportant": Severity.LOW,
    "low": Severity.LOW,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "important": Severity.HIGH,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}

_VECTOR_PREFERENCE = ("CVSS_V4", "CVSS_V3", "CVSS_V2")


@dataclass(frozen=True)
class SeverityAssessment:
    severity: Severity
    score: float | None = None
    vector: str | None = None
    # Where it came from: "CVSS_V3", "database_specific", "none", ...
    source: str = "none"


def severity_from_label(label: Any) -> Severity | None:
    if not isinstance(label, str):
        return None
    return _LABELS.get(label.strip().casefold())


def severity_from_score(score: float, *, cvss_version: int = 3) -> Severity:
    """Qualitative rating of a base score: CVSS v3/v4 bands, or NVD's bands for v2."""
    if cvss_version == 2:
        if score >= 7.0:
            return Severity.HIGH
        return Severity.MEDIUM if score >= 4.0 else Severity.LOW if score > 0 else Severity.NONE
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW if score > 0 else Severity.NONE


def _bare_score(text: str) -> float | None:
    # Not what the schema asks for, but some feeds put "9.8" where a vector belongs.
    if re.fullmatch(r"\d{1,2}(\.\d)?", text.strip()):
        value = float(text)
        return value if 0.0 <= value <= 10.0 else None
    return None


def assess_cvss(entry: OsvSeverity) -> SeverityAssessment | None:
    """Score one OSV severity entry; None when its vector is malformed or its type unknown."""
    vector = entry.score.strip()
    try:
        if entry.type == "CVSS_V4":
            cvss4 = CVSS4(vector)
            score = float(cvss4.base_score)
            return SeverityAssessment(Severity(cvss4.severity.lower()), score, vector, entry.type)
        if entry.type == "CVSS_V3":
            cvss3 = CVSS3(vector)
            score = float(cvss3.base_score)
            rating = Severity(cvss3.severities()[0].lower())
            return SeverityAssessment(rating, score, vector, entry.type)
        if entry.type == "CVSS_V2":
            cleaned = vector.strip("()").removeprefix("CVSS:2.0/")
            score = float(CVSS2(cleaned).scores()[0])
            return SeverityAssessment(
                severity_from_score(score, cvss_version=2), score, vector, entry.type
            )
    except CVSSError:
        bare = _bare_score(vector)
        if bare is None:
            return None
        version = 2 if entry.type == "CVSS_V2" else 3
        return SeverityAssessment(
            severity_from_score(bare, cvss_version=version), bare, None, entry.type
        )
    if entry.type == "Ubuntu":
        label = severity_from_label(vector)
        return SeverityAssessment(label, None, None, entry.type) if label else None
    return None


def _best_vector(entries: Iterable[OsvSeverity]) -> SeverityAssessment | None:
    assessed = [a for a in (assess_cvss(e) for e in entries) if a is not None]
    for source in (*_VECTOR_PREFERENCE, "Ubuntu"):
        candidates = [a for a in assessed if a.source == source]
        if candidates:
            # Two vectors of the same version (e.g. NVD's and the vendor's): take the higher.
            return max(candidates, key=lambda a: (a.score or 0.0, a.severity.rank))
    return None


def _label_in(specific: Mapping[str, Any]) -> Severity | None:
    return severity_from_label(specific.get("severity"))


def assess_severity(record: OsvRecord, affected: OsvAffected | None = None) -> SeverityAssessment:
    if affected is not None:
        found = _best_vector(affected.severity)
        if found:
            return found
    found = _best_vector(record.severity)
    if found:
        return found
    labelled = [("database_specific", record.database_specific)]
    if affected is not None:
        labelled += [
            ("database_specific", affected.database_specific),
            ("ecosystem_specific", affected.ecosystem_specific),
        ]
    for source, specific in labelled:
        label = _label_in(specific)
        if label is not None:
            return SeverityAssessment(label, None, None, source)
    return SeverityAssessment(Severity.UNKNOWN)
