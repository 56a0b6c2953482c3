"""How many of a stage's findings a result keeps: the most severe first, and a count of the rest.

A stage may find as much as its input holds (50,000 SBOM components each with a licence
finding); stored whole, one result row grew to tens of megabytes, sent whole to the API, the
vendor portal and the reviewer's admin page. The verdict is taken on all of them before they
are stored; the result keeps MAX_STORED_FINDINGS and says how many of each severity it left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from certification.security.severity import Severity

MAX_STORED_FINDINGS = 1_000
# Findings that carry no severity (licences, budgets, invariants) are counted under this name.
UNRATED = "unrated"


@dataclass(frozen=True)
class BoundedFindings:
    kept: list[Any]
    # {"total": all findings, "left_out": {severity: count of those not kept}}
    summary: dict[str, Any]


def _severity(finding: Any) -> str:
    severity = finding.get("severity") if isinstance(finding, Mapping) else None
    return severity if severity in set(Severity) else UNRATED


def _most_severe_first(finding: Any) -> tuple[int, int]:
    blocking = isinstance(finding, Mapping) and finding.get("blocking") is True
    severity = _severity(finding)
    rank = Severity(severity).rank if severity != UNRATED else -2
    return (0 if blocking else 1, -rank)


def bound_findings(findings: list[Any], limit: int = MAX_STORED_FINDINGS) -> BoundedFindings:
    """At most ``limit`` findings, blocking and most severe first (otherwise in stage order)."""
    if len(findings) <= limit:
        return BoundedFindings(list(findings), {"total": len(findings), "left_out": {}})
    ordered = sorted(findings, key=_most_severe_first)
    left_out = Counter(_severity(f) for f in ordered[limit:])
    return BoundedFindings(
        ordered[:limit], {"total": len(findings), "left_out": dict(sorted(left_out.items()))}
    )
