"""A certification run as the version page shows it: a step per stage of its level with that
stage's state, every finished stage's report (the reviewer's view model), and the measured
figures against their limits as bars."""

from dataclasses import dataclass

from certification.models import CertificationRun
from certification.pipeline.report import StageView, stage_view


@dataclass(frozen=True)
class Step:
    stage: str
    state: str  # pending, running, or a StageResult value


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    limit: float
    unit: str

    @property
    def over(self) -> bool:
        return self.value > self.limit

    @property
    def percent(self) -> int:
        return round(100 * self.value / self.limit) if self.limit else 0


@dataclass(frozen=True)
class RunView:
    run: CertificationRun
    steps: tuple[Step, ...]
    reports: tuple[StageView, ...]
    bars: tuple[Bar, ...]

    @property
    def active(self) -> bool:
        return not self.run.is_finished


def _steps(run: CertificationRun, results: dict) -> tuple[Step, ...]:
    return tuple(Step(stage, state) for stage, state in run.stage_states(results))


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# The performance checks' units as the page prints them (the stage writes ASCII).
_UNITS = {"us": "µs"}


def _bars(results: dict) -> tuple[Bar, ...]:
    bars = []
    performance = results.get("performance")
    if performance is not None:
        metrics = performance.metrics or {}
        for check in metrics.get("checks") or []:
            value, limit = _number(check.get("value")), _number(check.get("limit"))
            if value is not None and limit:
                label = str(check.get("name", "")).replace("_", " ")
                unit = str(check.get("unit") or "")
                bars.append(Bar(label, value, limit, _UNITS.get(unit, unit)))
        gate = _number(metrics.get("latency_gate_us"))
        estimate = _number(metrics.get("latency_estimate_us"))
        if gate and estimate is not None:
            bars.append(Bar("latency (estimate)", estimate, gate, "µs"))
    simulation = results.get("simulation")
    if simulation is not None:
        metrics = simulation.metrics or {}
        median = _number(metrics.get("latency_median_us"))
        gate = _number(metrics.get("latency_gate_us")) or _number(
            (performance.metrics or {}).get("latency_gate_us") if performance else None
        )
        if median is not None and gate:
            bars.append(Bar("latency on the emulated board (median)", median, gate, "µs"))
    return tuple(bars)


def run_view(run: CertificationRun) -> RunView:
    results = {r.test_suite: r for r in run.results.all()}
    return RunView(
        run=run,
        steps=_steps(run, results),
        reports=tuple(stage_view(r) for r in run.results_in_stage_order(results)),
        bars=_bars(results),
    )
