"""Wide inputs and long searches end with a verdict on each invariant, never an exception.

Hypothesis behaves differently under pytest (its plugin is loaded), so the searches that
reproduce a worker's failures run in a plain Python process, as in the Celery worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certification.tflm import invariants
from certification.tflm.invariants import InputDomain
from certification.tflm.sandbox import Inference


class ZeroRunner:
    """A well-behaved stand-in model: four outputs of 0.0 whatever the input."""

    def __init__(self, delay_s: float = 0.0):
        self.delay_s = delay_s

    def run(self, examples, raw=False):
        time.sleep(self.delay_s)
        return [Inference(values=(0.0,) * 4, raw=(0.0,) * 4) for _ in examples]


class TimeLimitRunner(ZeroRunner):
    """Raises, like Celery's soft time limit, from inside the search after a few examples."""

    class SoftLimit(Exception):
        pass

    def __init__(self, after: int):
        super().__init__()
        self.left = after

    def run(self, examples, raw=False):
        self.left -= 1
        if self.left == -1:  # once, as a time limit: Hypothesis's replay does not meet it
            raise self.SoftLimit("soft time limit exceeded")
        return super().run(examples, raw)


WIDE = [
    pytest.param(InputDomain.from_bounds(1024, -1.0, 1.0), id="float32-32x32"),
    pytest.param(InputDomain.from_bounds(6000, -128, 127, integer=True), id="int8-6000"),
]
SPECS = [
    {"kind": "finite"},
    {"kind": "output_range", "min": 0.0, "max": 1.0},
    {"kind": "deterministic"},
    {"kind": "monotonic", "input": 5, "output": 0, "direction": "increasing"},
    {"kind": "robust", "epsilon": 1, "delta": 0.0},
    {"kind": "implies", "when": [{"input": 0, "op": "gt", "value": 0}], "then": {"argmax": 0}},
]


ROOT = Path(__file__).resolve().parents[2]


def _outside_pytest(script: str) -> dict:
    """Run ``script`` in a plain Python process (no pytest, no Hypothesis plugin); it prints
    one JSON object as its last line."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        # The run's own var dir (tests/var_isolation.py): a script that sets Django up writes
        # its first-use keys there, never into the checkout's var/.
        env={
            "PYTHONPATH": str(ROOT),
            "PATH": "/usr/bin:/bin",
            "EDGEPLUG_VAR_DIR": os.environ["EDGEPLUG_VAR_DIR"],
        },
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "size, bounds, integer", [(1024, (-1.0, 1.0), False), (6000, (-128, 127), True)]
)
def test_a_wide_input_is_generated_and_every_invariant_gets_its_examples(size, bounds, integer):
    """A 32x32 float32 image, an int8 input of 6,000: every example used to be "too large to
    finish generating" and ``Unsatisfiable`` crashed the stage."""
    result = _outside_pytest(
        f"""
import json
from certification.tflm import invariants
from certification.tflm.invariants import InputDomain
from tests.tflm.test_invariants_wide_inputs import SPECS, ZeroRunner
domain = InputDomain.from_bounds({size}, *{bounds!r}, integer={integer})
outcomes = invariants.check_invariants(ZeroRunner(), SPECS, domain, "sha256:wide")
print(json.dumps([[o.kind, o.passed, o.examples, o.message] for o in outcomes]))
"""
    )
    assert [(kind, passed, examples) for kind, passed, examples, _ in result] == [
        (spec["kind"], True, invariants.DEFAULT_EXAMPLES) for spec in SPECS
    ], result


@pytest.mark.parametrize("domain", WIDE)
def test_wide_vectors_stay_inside_their_bounds(domain):
    low, high = [-3] * domain.size, [3] * domain.size
    low[7], high[7] = 2, 2

    @settings(max_examples=10, database=None)
    @given(invariants.input_vector_strategy(low, high, domain.integer))
    def inside(x):
        assert len(x) == domain.size and x[7] == 2
        assert all(-3 <= v <= 3 for v in x)

    inside()


def test_inputs_hypothesis_cannot_generate_end_as_a_clear_code(monkeypatch):
    # Too large for any example hypothesis will make (20 kB still passed here, 40 kB did
    # not): a bigger size only takes longer to give up on (here 100 kB: 23 s, 50 kB: 15 s).
    too_large = st.binary(min_size=50_000, max_size=50_000).map(lambda _: [0.0] * 4)
    monkeypatch.setattr(invariants, "input_vector_strategy", lambda *a: too_large)
    [outcome] = invariants.check_invariants(
        ZeroRunner(), [{"kind": "finite"}], InputDomain.from_bounds(4, 0.0, 1.0), "sha256:x"
    )
    assert (outcome.passed, outcome.error_code) == (False, "invariant_inputs_ungenerated")
    assert "could not generate" in outcome.message


def test_the_search_stops_at_its_time_budget_with_a_clear_code_and_the_examples_tried():
    domain = InputDomain.from_bounds(2000, -128, 127, integer=True)
    specs = [{"kind": "finite"}] * 3
    started = time.monotonic()
    outcomes = invariants.check_invariants(
        ZeroRunner(delay_s=0.01), specs, domain, "sha256:slow", time_budget_s=0.3
    )
    assert time.monotonic() - started < 5
    assert [(o.passed, o.error_code) for o in outcomes] == [(False, "invariants_time_exceeded")] * 3
    first = outcomes[0]
    assert 0 < first.examples < invariants.DEFAULT_EXAMPLES
    assert f"after {first.examples} of {invariants.DEFAULT_EXAMPLES} examples" in first.message


def test_a_violation_found_before_the_budget_ran_out_is_still_reported():
    class Broken(ZeroRunner):
        def run(self, examples, raw=False):
            time.sleep(0.05)
            return [Inference(values=(9.0,), raw=(9.0,)) for _ in examples]

    [outcome] = invariants.check_invariants(
        Broken(),
        [{"kind": "output_range", "min": 0.0, "max": 1.0}],
        InputDomain.from_bounds(8, 0.0, 1.0),
        "sha256:broken",
        time_budget_s=0.2,
    )
    assert (outcome.passed, outcome.error_code) == (False, None)
    assert outcome.counterexample_output == [9.0]


def test_an_exception_inside_the_search_leaves_it_unchanged_not_as_an_index_error():
    """A Celery soft time limit fires inside the Hypothesis test: it used to be replayed,
    reported ``Flaky`` and turned into ``IndexError`` from an empty list of violations."""
    result = _outside_pytest(
        """
import json
from certification.tflm import invariants
from certification.tflm.invariants import InputDomain
from tests.tflm.test_invariants_wide_inputs import TimeLimitRunner
try:
    invariants.check_invariants(
        TimeLimitRunner(after=5), [{"kind": "finite"}], InputDomain.from_bounds(16, 0.0, 1.0), "d"
    )
except BaseException as error:
    print(json.dumps({"raised": type(error).__name__}))
"""
    )
    assert result == {"raised": "SoftLimit"}


def test_the_simulation_stage_draws_its_vectors_for_a_wide_input():
    """The simulation stage drew its generated vectors one strategy per element too: a 32x32
    float32 image was ``Unsatisfiable`` in the worker, a crashed stage."""
    result = _outside_pytest(
        """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edgeplug.settings")
import django
django.setup()
from certification.pipeline.stages.simulation import GENERATED_VECTORS, input_vectors
from certification.tflm.invariants import InputDomain
vectors = input_vectors(InputDomain.from_bounds(1024, -1.0, 1.0), "sha256:wide")
inside = all(-1.0 <= value <= 1.0 for vector in vectors for value in vector)
print(json.dumps([len(vectors), GENERATED_VECTORS, {len(v) for v in vectors} == {1024}, inside]))
"""
    )
    count, generated, all_wide, inside = result
    assert count > 3 and count <= 3 + generated and all_wide and inside, result
