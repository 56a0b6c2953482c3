"""What a reviewer reads for each stage of a run: verdict, figures and findings as labelled rows.

Each stage, the security scan and the invariant checker shape their findings differently (a
vulnerability has an advisory id and fixed versions, a budget check has a name and a limit, an
invariant has a counterexample), so the template gets ready-made rows here instead of looking
up keys a finding may not have.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True)
class FindingView:
    title: str
    summary: str
    # None when the stage does not say (only the security scan marks findings as blocking).
    blocking: bool | None
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class StageView:
    suite: str
    result: str
    duration_ms: int
    error_code: str
    metrics: tuple[Row, ...]
    findings: tuple[FindingView, ...]
    # How many findings the stage had, and a line on those not stored ("" when all are shown).
    findings_total: int
    findings_left_out: str
    logs: str


def display_value(value: Any) -> str:
    """One cell: lists and mappings as compact JSON, so nested figures stay readable."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return str(value)


def _label(key: str) -> str:
    return key.replace("_", " ")


def _rows(data: Mapping[str, Any], shown: Iterable[str]) -> tuple[Row, ...]:
    hidden = set(shown)
    return tuple(
        Row(_label(key), display_value(value)) for key, value in data.items() if key not in hidden
    )


def _component(finding: Mapping[str, Any]) -> str:
    name, version = finding.get("component") or "", finding.get("version") or ""
    return f"{name}@{version}" if version else name


def _vulnerability(f: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    fixed = f.get("fixed_versions") or []
    fixed_text = f"fixed in {', '.join(fixed)}" if fixed else "no fixed version"
    title = f"{f.get('advisory_id') or 'advisory'} ({f.get('severity') or 'unknown'})"
    summary = f"{_component(f)}: {f.get('summary') or 'no summary'}; {fixed_text}"
    return title, summary, ["kind", "advisory_id", "summary"]


def _invariant(f: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    verdict = "could not be checked" if f.get("error_code") else "violated"
    return f"invariant {f.get('kind')} {verdict}", str(f.get("message") or ""), ["message"]


def _is_budget(f: Any) -> bool:
    """A performance budget check (``BudgetCheck`` as stored): a figure against a limit."""
    return isinstance(f, Mapping) and "limit" in f and "name" in f and "kind" not in f


def _against_limit(f: Mapping[str, Any]) -> str:
    unit = f.get("unit") or ""
    return (
        f"{display_value(f.get('value'))} {unit} against a limit of "
        f"{display_value(f.get('limit'))} {unit} ({f.get('label') or 'measured'})"
    )


def _budget(f: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    return f"{_label(str(f.get('name')))} over budget", _against_limit(f), ["name"]


def _metric_rows(metrics: Mapping[str, Any]) -> tuple[Row, ...]:
    """A stage's figures, a row each; the performance stage's budget checks (``checks``) a
    row per check, "arena kb check: passed, 6.0 KiB against a limit of 16 KiB (measured)",
    rather than the list as one JSON cell."""
    rows: list[Row] = []
    for key, value in metrics.items():
        if key == "checks" and isinstance(value, list) and all(map(_is_budget, value)):
            rows += [
                Row(
                    f"{_label(str(check['name']))} check",
                    f"{'passed' if check.get('passed') else 'FAILED'}, {_against_limit(check)}",
                )
                for check in value
            ]
        else:
            rows.append(Row(_label(key), display_value(value)))
    return tuple(rows)


def _described(f: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    title = _label(str(f.get("kind") or f.get("code") or f.get("name") or "finding"))
    if f.get("kind") in ("license", "component_issue") and f.get("code"):
        title = f"{_label(f['kind'])}: {f['code']} in {_component(f)}"
    summary = f.get("detail") or f.get("reason") or ""
    return title, str(summary), ["kind", "detail", "reason"]


def finding_view(finding: Mapping[str, Any]) -> FindingView:
    if finding.get("kind") == "vulnerability":
        title, summary, shown = _vulnerability(finding)
    elif "counterexample_input" in finding:
        title, summary, shown = _invariant(finding)
    elif _is_budget(finding):
        title, summary, shown = _budget(finding)
    else:
        title, summary, shown = _described(finding)
    blocking = finding.get("blocking")
    return FindingView(
        title=title,
        summary=summary,
        blocking=blocking if isinstance(blocking, bool) else None,
        rows=_rows(finding, [*shown, "blocking"]),
    )


def _left_out_line(summary: Mapping[str, Any]) -> str:
    left_out = summary.get("left_out") or {}
    if not left_out:
        return ""
    counts = ", ".join(f"{count:,} {severity}" for severity, count in left_out.items())
    return f"{sum(left_out.values()):,} more not stored ({counts}); the verdict counted them all."


def stage_view(result) -> StageView:
    """``result`` is a CertificationResult (or anything with its fields)."""
    findings = result.findings if isinstance(result.findings, list) else [result.findings]
    summary = getattr(result, "findings_summary", None) or {}
    return StageView(
        suite=result.test_suite,
        result=result.test_result,
        duration_ms=result.test_duration_ms,
        error_code=result.error_code,
        metrics=_metric_rows(result.metrics or {}),
        findings=tuple(
            finding_view(f if isinstance(f, Mapping) else {"detail": f}) for f in findings
        ),
        findings_total=summary.get("total", len(findings)),
        findings_left_out=_left_out_line(summary),
        logs=result.test_logs,
    )
