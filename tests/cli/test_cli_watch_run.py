"""`edgeplug status --run --watch` follows a certification run until it has finished."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

RUN = "/api/v1/certification/5"
STAGES = ["validation", "invariants", "performance"]


def _run(
    status: str, progress: int, current: str, results: list[dict], states: list[str]
) -> tuple[int, dict]:
    """The run as the server answers it; ``states`` are its stages' states, in order."""
    return 200, {
        "id": 5,
        "level": "basic",
        "status": status,
        "progress": progress,
        "current_stage": current,
        "stages": STAGES,
        "results": results,
        "stage_states": [
            {"stage": stage, "state": state} for stage, state in zip(STAGES, states, strict=True)
        ],
    }


def _result(stage: str, outcome: str, ms: int) -> dict:
    return {"test_suite": stage, "test_result": outcome, "test_duration_ms": ms}


@pytest.fixture
def watched(cli, stub_api):
    cli.ok("login", "--server", stub_api.url, "--email", "dev@acme.example")
    return cli


def test_watch_prints_each_stage_until_the_run_passes(watched, stub_api):
    validation = _result("validation", "pass", 120)
    stub_api.answer(
        RUN,
        _run("queued", 0, "", [], ["pending"] * 3),
        _run("running", 33, "invariants", [validation], ["pass", "running", "pending"]),
        _run(
            "passed",
            100,
            "",
            [validation, _result("invariants", "pass", 900), _result("performance", "pass", 40)],
            ["pass"] * 3,
        ),
    )
    out = watched.ok("status", "--run", "5", "--watch", "--interval", "0.1")
    assert "run 5 (basic): queued 0%" in out
    assert "run 5 (basic): running 33%, stage invariants" in out
    assert "run 5 (basic): passed 100%" in out
    lines = out.splitlines()
    assert any(line.split() == ["invariants", "running"] for line in lines)
    assert any(line.split() == ["performance", "pass", "40", "ms"] for line in lines)


def test_the_status_line_names_the_stages_running_not_the_one_started_last(watched, stub_api):
    """Stages run at once: performance, started last (the run's current stage), finished
    while invariants still runs. The line said "stage performance"."""
    validation, performance = _result("validation", "pass", 120), _result("performance", "pass", 40)
    stub_api.answer(
        RUN,
        _run("running", 66, "performance", [validation, performance], ["pass", "running", "pass"]),
    )
    out = watched.ok("status", "--run", "5")
    assert out.splitlines()[0] == "run 5 (basic): running 66%, stage invariants"
    stub_api.answer(
        RUN, _run("running", 33, "performance", [validation], ["pass", "running", "running"])
    )
    out = watched.ok("status", "--run", "5")
    assert out.splitlines()[0] == "run 5 (basic): running 33%, stages invariants, performance"


def test_watch_exits_1_when_the_run_fails(watched, stub_api):
    stub_api.answer(
        RUN,
        _run(
            "failed",
            100,
            "",
            [_result("validation", "pass", 100), _result("invariants", "fail", 800)],
            ["pass", "fail", "skipped"],
        ),
    )
    result = watched("status", "--run", "5", "--watch", "--interval", "0.1")
    assert result.returncode == 1
    assert "invariants   fail" in result.stdout
    assert result.stderr.startswith("error: run_failed: certification run 5 failed")


def test_status_of_a_run_without_watch_shows_it_once(watched, stub_api):
    stub_api.answer(
        RUN,
        _run(
            "running",
            33,
            "invariants",
            [_result("validation", "pass", 1)],
            ["pass", "running", "pending"],
        ),
    )
    out = watched.ok("status", "--run", "5")
    assert out.count("run 5 (basic)") == 1
    assert "performance  pending" in out
    assert sum(1 for method, path, _ in stub_api.requests if path == RUN) == 1
