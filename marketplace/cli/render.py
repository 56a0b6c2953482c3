"""Plain-text views of API answers: an agent's versions, one version, a certification run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from certification.vocabulary import FINISHED_RUN_STATUSES
from edgeplug.text import one_terminal_line


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns two spaces apart, sized to their widest cell."""
    cells = [list(header), *([_cell(value) for value in row] for row in rows)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def agent(data: dict[str, Any]) -> str:
    title = _cell(
        f"{data['name']} by {data['vendor']} (agent {data['id']}, {data.get('agent_type', '')})"
    )
    versions = data.get("versions") or []
    if not versions:
        return f"{title}\nno versions"
    rows = (
        (
            item["version"],
            item.get("certification_status"),
            item.get("review_status"),
            "yes" if item.get("yanked") else "no",
            item.get("size"),
            digest(item.get("digest")),
        )
        for item in versions
    )
    header = ("VERSION", "CERTIFICATION", "REVIEW", "YANKED", "SIZE", "DIGEST")
    return f"{title}\n{table(header, rows)}"


def version(data: dict[str, Any]) -> str:
    fields = [
        ("version", data.get("version")),
        ("digest", digest(data.get("digest"))),
        ("size", data.get("size")),
        ("signed by", data.get("key_id")),
        ("target core", data.get("target_core")),
        ("certification", data.get("certification_status")),
        ("review", data.get("review_status")),
        ("created", data.get("created_at")),
        ("certified", data.get("certified_at") or "-"),
        ("yanked", (data.get("yank_reason") or "yes") if data.get("yanked") else "no"),
    ]
    width = max(len(label) for label, _ in fields) + 1
    return "\n".join(f"{label + ':':<{width}} {_cell(value)}" for label, value in fields)


def digest(hex_digest: str | None) -> str:
    return f"sha256:{hex_digest}" if hex_digest else "-"


def run(data: dict[str, Any]) -> str:
    """A run's status line and one row per stage: finished, running, or still to come."""
    status = data.get("status", "?")
    line = f"run {data.get('id')} ({data.get('level', '?')}): {status} {data.get('progress', 0)}%"
    # The stages running now, as the server states them: several run at once, and
    # ``current_stage`` names the one started last, which may have finished already.
    running = [item["stage"] for item in data.get("stage_states", []) if item["state"] == "running"]
    if running and status not in FINISHED_RUN_STATUSES:
        line += f", stage{'s' if len(running) > 1 else ''} {', '.join(running)}"
    if data.get("error_code"):
        line += f"\n{data['error_code']}: {data.get('error_detail', '')}"
    elif data.get("error_detail"):
        # The verdict of a finished run ("failed: invariants", "signing failed: ..."): the
        # certificate's signing has no row of its own, so its failure shows here.
        line += f"\n{data['error_detail']}"
    rows = stage_rows(data)
    if not rows:
        return line
    return f"{line}\n{table(('STAGE', 'RESULT', 'DURATION'), rows)}"


def stage_rows(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(stage, state, duration) for every stage the run's level requires, in order.

    The state is the server's (``stage_states``, as the portal's steps and the watch stream
    show it): a verdict, ``running``, ``pending``, or ``skipped`` when the run ended first;
    a stage that failed for a reason with a code shows it, ``fail (code)``, as the portal's
    and the admin's reports do. The duration comes from the stage's result once recorded.
    Like the portal's steps, the rows are the level's stages only: the certificate's signing
    is not one of them.
    """
    results = {item.get("test_suite"): item for item in data.get("results", [])}
    rows = []
    for item in data.get("stage_states", []):
        result = results.get(item["stage"], {})
        state = item["state"]
        if code := result.get("error_code"):
            state += f" ({code})"
        duration = result.get("test_duration_ms")
        rows.append((item["stage"], state, "" if duration is None else f"{duration} ms"))
    return rows


def _cell(value: Any) -> str:
    """A value of the server's answer as one line (``one_terminal_line``), ``-`` for none."""
    return "-" if value is None else one_terminal_line(str(value))
