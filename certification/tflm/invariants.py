"""Property-based checks of a model's declared safety invariants, with Hypothesis.

Each invariant from the manifest becomes one Hypothesis search over inputs drawn from the
manifest's ``model.input.range``, evaluated by a :class:`ModelRunner` (in production the
:class:`~certification.tflm.sandbox.ModelSandbox`: one child for all examples, one pipe round
trip per example). The search is seeded from the package digest, keeps no example database
and ignores wall time, so a package always meets the same examples and, when it fails, the
same shrunk counterexample.

Values are in the tensor's own units, as the manifest schema defines them: raw integer codes
for ``int8``/``uint8``/``int16`` tensors (inputs are drawn as integers and fed to the model
unquantized), real numbers for ``float32``. Indices address the flattened tensors. Supported
shapes (``name`` is accepted on every kind and only echoed back; OP is ``gt``, ``ge``, ``lt``
or ``le``):

``{"kind": "output_range", "min": n, "max": n, "outputs": [i, ...]?}``
    every selected output (all when ``outputs`` is absent) lies in [min, max]; NaN does not
``{"kind": "finite", "outputs": [i, ...]?}``
    no selected output is NaN or infinite
``{"kind": "deterministic"}``
    running x, then another input, then x again gives bit-identical outputs for x (TFLM keeps
    variable and resource-variable state across invokes, so a stateful model fails this)
``{"kind": "monotonic", "input": i, "output": j, "direction": "increasing"|"decreasing"}``
    with the other inputs fixed, raising input i never lowers (increasing) or never raises
    (decreasing) output j
``{"kind": "robust", "epsilon": n, "delta": n, "outputs": [i, ...]?}``
    moving every input by at most epsilon (and staying in range) changes no selected output
    by more than delta
``{"kind": "implies", "when": [{"input": i, "op": OP, "value": n}, ...],
"then": {"argmax": k} | {"output": j, "op": OP, "value": n}}``
    every input satisfying all ``when`` conditions satisfies ``then``; examples are drawn
    inside that region directly; argmax ties go to the lowest index, NaN selects no class
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import operator
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from hypothesis.extra import numpy as hnp

from certification.tflm.sandbox import Inference, SandboxError
from edgeplug.text import json_safe

KINDS = ("output_range", "finite", "deterministic", "monotonic", "robust", "implies")
DEFAULT_EXAMPLES = 100
# Wall time for the searches of one stage, all invariants together: well inside the Celery
# task's soft limit (certification.tasks.STAGE_SOFT_LIMIT_S, 600 s), so a long search ends
# as a verdict (``invariants_time_exceeded``) and not as a killed task.
SEARCH_BUDGET_S = 420.0
# Outcomes after which the next invariants are still searched (any other code: the model
# died in the sandbox, or the stage's search time ran out).
_CHECKABLE_AFTER = (None, "invariant_invalid", "invariant_inputs_ungenerated")
# Above this many distinct per-element bounds, a vector is drawn in their union and clamped.
_MAX_BOUND_GROUPS = 32
INTEGER_DTYPES = ("int8", "uint8", "int16")

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}

Number = float | int


class ModelRunner(Protocol):
    """Evaluates a batch of flat inputs, in order, on one model instance.

    With ``raw=True`` inputs are in the input tensor's units and ``Inference.raw`` holds the
    output tensor's values.
    """

    def run(self, examples: Sequence[Sequence[float]], raw: bool = False) -> list[Inference]: ...


class InvariantSpecError(ValueError):
    """The manifest declares an invariant this checker cannot interpret."""


@dataclass(frozen=True)
class InputDomain:
    """Per-element bounds of the flattened input; integer domains hold quantized codes."""

    low: tuple[Number, ...]
    high: tuple[Number, ...]
    integer: bool = False

    @classmethod
    def from_bounds(
        cls,
        size: int,
        low: Number | Sequence[Number],
        high: Number | Sequence[Number],
        integer: bool = False,
    ) -> InputDomain:
        """Scalar bounds apply to every element; sequences give one bound per element."""
        lows = [low] * size if isinstance(low, int | float) else list(low)
        highs = [high] * size if isinstance(high, int | float) else list(high)
        if len(lows) != size or len(highs) != size:
            raise InvariantSpecError(f"input range must give {size} bounds")
        if integer:
            lows = [math.ceil(v) for v in lows]
            highs = [math.floor(v) for v in highs]
        else:
            lows = [float(v) for v in lows]
            highs = [float(v) for v in highs]
        if any(lo > hi for lo, hi in zip(lows, highs, strict=True)):
            raise InvariantSpecError("input range has a minimum above its maximum")
        return cls(tuple(lows), tuple(highs), integer)

    @classmethod
    def from_manifest(cls, model: Mapping[str, Any]) -> InputDomain:
        """From the manifest's ``model`` object (its input shape, dtype and range)."""
        section = model["input"]
        size = math.prod(int(d) for d in section["shape"])
        low, high = section["range"]
        return cls.from_bounds(size, low, high, integer=section["dtype"] in INTEGER_DTYPES)

    @property
    def size(self) -> int:
        return len(self.low)

    def clip(self, values: Sequence[Number]) -> list[Number]:
        """Clamp into the box; float values become the float32 the model will really read."""
        if self.integer:
            return [
                min(max(int(v), lo), hi)
                for v, lo, hi in zip(values, self.low, self.high, strict=True)
            ]
        return [
            _to_f32_within(min(max(v, lo), hi), lo, hi)
            for v, lo, hi in zip(values, self.low, self.high, strict=True)
        ]


@dataclass(frozen=True)
class InvariantOutcome:
    """The verdict on one invariant; on failure, the shrunk counterexample.

    ``examples`` counts the model evaluations Hypothesis made, shrinking included.
    Values are in tensor units. For invariants about a pair of inputs (deterministic,
    monotonic, robust), ``related_*`` hold the second input of the pair and its output.
    ``error_code`` is set when the invariant could not be checked at all: a sandbox code
    (``model_timeout`` ...) or ``invariant_invalid`` for a declaration we cannot interpret.
    """

    kind: str
    passed: bool
    examples: int
    counterexample_input: list[Number] | None
    counterexample_output: list[Number] | None
    message: str
    spec: Mapping[str, Any] = field(default_factory=dict)
    related_input: list[Number] | None = None
    related_output: list[Number] | None = None
    error_code: str | None = None

    @classmethod
    def unchecked(
        cls, spec: Mapping[str, Any], message: str, error_code: str, *, examples: int = 0
    ) -> InvariantOutcome:
        """The failed verdict on an invariant that could not be checked at all."""
        return cls(
            kind=str(spec.get("kind", "")),
            passed=False,
            examples=examples,
            counterexample_input=None,
            counterexample_output=None,
            message=message,
            spec=spec,
            error_code=error_code,
        )

    def to_json(self) -> dict[str, Any]:
        """A dict that strict JSON (and Postgres jsonb) accepts: NaN and infinities as strings."""
        data = dataclasses.asdict(self)
        data["spec"] = dict(self.spec)
        for key in (
            "counterexample_input",
            "counterexample_output",
            "related_input",
            "related_output",
        ):
            data[key] = json_safe(data[key])
        return data


@dataclass(frozen=True)
class _Violation:
    message: str
    input: list[Number]
    output: list[Number]
    related_input: list[Number] | None = None
    related_output: list[Number] | None = None


class _FoundViolation(AssertionError):
    """Raised inside the Hypothesis test so it shrinks toward a minimal violation."""


class _OutOfTime(BaseException):
    """Raised inside the Hypothesis test when the search budget is spent: not a failure to
    shrink, so it is a BaseException that Hypothesis lets straight through."""


class _Interrupted(BaseException):
    """Carries an unexpected exception (a Celery soft time limit ...) out of Hypothesis
    unchanged, instead of Hypothesis replaying it and reporting it as ``Flaky``."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


class _SandboxAbort(BaseException):
    """Carries a SandboxError straight out of Hypothesis, which shrinks only Exceptions.

    A model that hangs or crashes is not a property violation to minimize.
    """

    def __init__(self, error: SandboxError) -> None:
        super().__init__(error.code)
        self.error = error


Check = Callable[[Any], _Violation | None]


# ---------------------------------------------------------------------------------------------
# Seeding, strategies and comparisons


def seed_for(package_digest: str, kind: str, position: int) -> int:
    """A reproducible Hypothesis seed per package and per declared invariant."""
    material = f"{package_digest}:{position}:{kind}".encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big")


def _f32_at_least(value: float) -> float:
    f = np.float32(value)
    if float(f) < value:
        f = np.nextafter(f, np.float32(np.inf))
    return float(f)


def _f32_at_most(value: float) -> float:
    f = np.float32(value)
    if float(f) > value:
        f = np.nextafter(f, np.float32(-np.inf))
    return float(f)


def _to_f32_within(value: float, low: float, high: float) -> float:
    f = float(np.float32(value))
    if f < low:
        return _f32_at_least(low)
    if f > high:
        return _f32_at_most(high)
    return f


def _scalars(low: Number, high: Number, integer: bool) -> st.SearchStrategy[Number]:
    """Integers for integer tensors; float32-representable floats otherwise, so that a
    counterexample is exactly the value the model read."""
    if integer:
        return st.integers(math.ceil(low), math.floor(high))
    lo, hi = _f32_at_least(low), _f32_at_most(high)
    if lo > hi:
        raise InvariantSpecError(f"no float32 value lies in [{low}, {high}]")
    return st.floats(lo, hi, width=32, allow_nan=False, allow_infinity=False)


def input_vector_strategy(
    low: Sequence[Number], high: Sequence[Number], integer: bool
) -> st.SearchStrategy[list[Number]]:
    """Whole input vectors, drawn as one numpy array per distinct (low, high) bound.

    One strategy per element would make a wide input (a 32x32 image: 1,024 elements) too
    large for Hypothesis's buffer: every example is "too large to finish generating" and the
    search is ``Unsatisfiable``. An array draw fills most elements with one value and draws
    only a few, so its cost does not grow with the width.
    """
    size = len(low)
    groups: dict[tuple[Number, Number], list[int]] = {}
    for index, bounds in enumerate(zip(low, high, strict=True)):
        groups.setdefault(bounds, []).append(index)
    dtype = np.int64 if integer else np.float32
    if len(groups) > _MAX_BOUND_GROUPS:
        lows, highs = list(low), list(high)
        clip = InputDomain(tuple(lows), tuple(highs), integer).clip
        whole = hnp.arrays(dtype, size, elements=_scalars(min(lows), max(highs), integer))
        return whole.map(lambda values: clip(values.tolist()))
    parts = [
        (indices, hnp.arrays(dtype, len(indices), elements=_scalars(lo, hi, integer)))
        for (lo, hi), indices in groups.items()
    ]

    def assemble(arrays: tuple[np.ndarray, ...]) -> list[Number]:
        vector: list[Number] = [0] * size
        for (indices, _), values in zip(parts, arrays, strict=True):
            for index, value in zip(indices, values.tolist(), strict=True):
                vector[index] = value
        return vector

    return st.tuples(*(strategy for _, strategy in parts)).map(assemble)


def _same(a: Number, b: Number) -> bool:
    """Bit-identical for our purposes: NaN equals NaN, and 0.0 differs from -0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


# ---------------------------------------------------------------------------------------------
# Spec parsing


def _require(spec: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in spec:
        raise InvariantSpecError(f"{spec.get('kind', 'the condition')} needs {key!r}")
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise InvariantSpecError(f"{key} has the wrong type")
    return value


def _index(value: Any, size: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise InvariantSpecError(f"{what} {value!r} is not one of the {size} {what}s")
    return value


def _number(spec: Mapping[str, Any], key: str) -> float:
    value = float(_require(spec, key, int | float))
    if not math.isfinite(value):
        raise InvariantSpecError(f"{key} must be finite")
    return value


def _selected_outputs(spec: Mapping[str, Any], outputs: int) -> list[int]:
    selected = spec.get("outputs")
    if selected is None:
        return list(range(outputs))
    if not isinstance(selected, list) or not selected:
        raise InvariantSpecError("outputs must be a non-empty list of output indices")
    return [_index(j, outputs, "output") for j in selected]


def _comparison(spec: Mapping[str, Any]) -> tuple[str, Callable[[float, float], bool]]:
    op = spec.get("op")
    if op not in _COMPARISONS:
        raise InvariantSpecError(f"op must be one of {', '.join(_COMPARISONS)}")
    return op, _COMPARISONS[op]


# ---------------------------------------------------------------------------------------------
# One Hypothesis search


class _Evaluator:
    """Runs examples on the model in tensor units and counts them; sandbox failures abort."""

    def __init__(self, runner: ModelRunner) -> None:
        self.runner = runner
        self.calls = 0

    def __call__(self, *inputs: list[Number]) -> list[list[Number]]:
        self.calls += 1
        try:
            results = self.runner.run(inputs, raw=True)
        except SandboxError as error:
            raise _SandboxAbort(error) from error
        return [list(result.raw) for result in results]


class _SearchStopped(Exception):
    """The search ended without a verdict on the invariant: ``code`` says why."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _search(
    strategy: st.SearchStrategy[Any],
    check: Check,
    seed_value: int,
    max_examples: int,
    deadline: float | None = None,
) -> tuple[_Violation | None, str]:
    """Look for a violation; return the shrunk one (Hypothesis replays it last) and a note.

    ``deadline`` (a ``time.monotonic()`` instant) stops the search: a violation found by then
    is reported as found, else :class:`_SearchStopped` (``invariants_time_exceeded``). Inputs
    Hypothesis cannot generate raise :class:`_SearchStopped` (``invariant_inputs_ungenerated``).
    Any other exception from the check (a Celery soft time limit ...) leaves unchanged, not
    replayed by Hypothesis as a failure to shrink.
    """
    violations: list[_Violation] = []

    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
    )
    @seed(seed_value)
    @given(strategy)
    def invariant_holds(example: Any) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            raise _OutOfTime
        try:
            violation = check(example)
        except Exception as error:
            raise _Interrupted(error) from error
        if violation is not None:
            violations.append(violation)
            raise _FoundViolation(violation.message)

    try:
        invariant_holds()
    except _Interrupted as interrupted:
        raise interrupted.error from None
    except _OutOfTime:
        if violations:
            return violations[-1], " (found before the search time ran out; not fully shrunk)"
        raise _SearchStopped(
            "invariants_time_exceeded", "the search time of the invariants stage ran out"
        ) from None
    except Unsatisfiable:
        raise _SearchStopped(
            "invariant_inputs_ungenerated",
            "Hypothesis could not generate inputs of this shape and range",
        ) from None
    except _FoundViolation:
        return violations[-1], ""  # raised only after a violation was kept
    except Flaky:
        if not violations:
            raise
        return violations[-1], " (it did not reproduce on replay: the model is not deterministic)"
    return None, ""


# ---------------------------------------------------------------------------------------------
# The six kinds: each turns a spec into (strategy, check)


def _each_selected_output(
    spec: Mapping[str, Any],
    domain: InputDomain,
    outputs: int,
    evaluate: _Evaluator,
    problem: Callable[[Number], str | None],
) -> tuple[st.SearchStrategy[Any], Check]:
    """(strategy, check) for a rule every selected output keeps on its own: ``problem(value)``
    says how one output breaks it (the violation reads "output <j> <problem>"), or None."""
    selected = _selected_outputs(spec, outputs)

    def check(x: list[Number]) -> _Violation | None:
        [y] = evaluate(x)
        for j in selected:
            found = problem(y[j])
            if found is not None:
                return _Violation(f"output {j} {found}", x, y)
        return None

    return input_vector_strategy(domain.low, domain.high, domain.integer), check


def _output_range(
    spec: Mapping[str, Any], domain: InputDomain, outputs: int, evaluate: _Evaluator
) -> tuple[st.SearchStrategy[Any], Check]:
    low, high = _number(spec, "min"), _number(spec, "max")

    def outside(value: Number) -> str | None:
        return None if low <= value <= high else f"= {value!r} is outside [{low:g}, {high:g}]"

    return _each_selected_output(spec, domain, outputs, evaluate, outside)


def _finite(
    spec: Mapping[str, Any], domain: InputDomain, outputs: int, evaluate: _Evaluator
) -> tuple[st.SearchStrategy[Any], Check]:
    def not_finite(value: Number) -> str | None:
        return None if math.isfinite(value) else f"is {value!r}"

    return _each_selected_output(spec, domain, outputs, evaluate, not_finite)


def _deterministic(
    spec: Mapping[str, Any], domain: InputDomain, outputs: int, evaluate: _Evaluator
) -> tuple[st.SearchStrategy[Any], Check]:
    vectors = input_vector_strategy(domain.low, domain.high, domain.integer)

    def check(pair: tuple[list[Number], list[Number]]) -> _Violation | None:
        x, other = pair
        first, _, again = evaluate(x, other, x)
        if all(_same(a, b) for a, b in zip(first, again, strict=True)):
            return None
        return _Violation(
            "the same input gave different outputs when run again after another input",
            x,
            first,
            related_input=x,
            related_output=again,
        )

    return st.tuples(vectors, vectors), check


def _monotonic(
    spec: Mapping[str, Any], domain: InputDomain, outputs: int, evaluate: _Evaluator
) -> tuple[st.SearchStrategy[Any], Check]:
    i = _index(_require(spec, "input", int), domain.size, "input")
    j = _index(_require(spec, "output", int), outputs, "output")
    direction = spec.get("direction")
    if direction not in ("increasing", "decreasing"):
        raise InvariantSpecError("direction must be increasing or decreasing")
    along = _scalars(domain.low[i], domain.high[i], domain.integer)

    def check(example: tuple[list[Number], tuple[Number, Number]]) -> _Violation | None:
        base, (a, b) = example
        lower, upper = list(base), list(base)
        lower[i], upper[i] = min(a, b), max(a, b)
        at_lower, at_upper = evaluate(lower, upper)
        y_low, y_high = at_lower[j], at_upper[j]
        holds = y_high >= y_low if direction == "increasing" else y_high <= y_low
        if holds:
            return None
        return _Violation(
            f"raising input {i} from {lower[i]!r} to {upper[i]!r} moved output {j} from "
            f"{y_low!r} to {y_high!r}, which is not {direction}",
            lower,
            at_lower,
            related_input=upper,
            related_output=at_upper,
        )

    return st.tuples(
        input_vector_strategy(domain.low, domain.high, domain.integer), st.tuples(along, along)
    ), check


def _robust(
    spec: Mapping[str, Any], domain: InputDomain, outputs: int, evaluate: _Evaluator
) -> tuple[st.SearchStrategy[Any], Check]:
    epsilon, delta = _number(spec, "epsilon"), _number(spec, "delta")
    if epsilon < 0 or delta < 0:
        raise InvariantSpecError("epsilon and delta must not be negative")
    selected = _selected_outputs(spec, outputs)
    noise = input_vector_strategy([-epsilon] * domain.size, [epsilon] * domain.size, domain.integer)

    def check(example: tuple[list[Number], list[Number]]) -> _Violation | None:
        x, d = example
        moved = domain.clip([v + e for v, e in zip(x, d, strict=True)])
        here, there = evaluate(x, moved)
        for j in selected:
            change = abs(here[j] - there[j])
            # NaN compares false, so a NaN change is a violation too.
            if not change <= delta:
                return _Violation(
                    f"moving the input by at most {epsilon:g} changed output {j} by "
                    f"{change!r}, more than {delta:g}",
                    x,
                    here,
                    related_input=moved,
                    related_output=there,
                )
        return None

    return st.tuples(input_vector_strategy(domain.low, domain.high, domain.integer), noise), check


def _tighten(
    low: Number, high: Number, op: str, value: float, integer: bool
) -> tuple[Number, Number]:
    """Narrow one input's [low, high] by the condition ``input op value``."""
    if integer:
        above, below = math.ceil(value), math.floor(value)
        if op == "gt" and above == value:
            above += 1
        if op == "lt" and below == value:
            below -= 1
    else:
        above, below = _f32_at_least(value), _f32_at_most(value)
        if op == "gt" and above == value:
            above = float(np.nextafter(np.float32(above), np.float32(np.inf)))
        if op == "lt" and below == value:
            below = float(np.nextafter(np.float32(below), np.float32(-np.inf)))
    if op in ("gt", "ge"):
        return max(low, above), high
    return low, min(high, below)


def _region(spec: Mapping[str, Any], domain: InputDomain) -> tuple[list[Number], list[Number]]:
    """The input box cut down to the ``when`` conditions, so examples are drawn inside it."""
    when = spec.get("when")
    if not isinstance(when, list) or not when:
        raise InvariantSpecError("when must be a non-empty list of input conditions")
    low, high = list(domain.low), list(domain.high)
    for condition in when:
        if not isinstance(condition, Mapping):
            raise InvariantSpecError("when holds objects")
        i = _index(_require(condition, "input", int), domain.size, "input")
        op, _ = _comparison(condition)
        low[i], high[i] = _tighten(low[i], high[i], op, _number(condition, "value"), domain.integer)
    if any(lo > hi for lo, hi in zip(low, high, strict=True)):
        raise InvariantSpecError("the when-conditions leave no input inside the declared range")
    return low, high


def _implies(
    spec: Mapping[str, Any], domain: InputDomain, outputs: int, evaluate: _Evaluator
) -> tuple[st.SearchStrategy[Any], Check]:
    low, high = _region(spec, domain)
    then = spec.get("then")
    if not isinstance(then, Mapping):
        raise InvariantSpecError("then must be an object")
    if "argmax" in then:
        k = _index(then["argmax"], outputs, "output")

        def holds(y: list[Number]) -> tuple[bool, str]:
            if any(math.isnan(v) for v in y):
                return False, "an output is NaN, so no class is selected"
            best = int(np.argmax(y))
            return best == k, f"argmax is {best}, not {k}"
    else:
        j = _index(_require(then, "output", int), outputs, "output")
        op, compare = _comparison(then)
        value = _number(then, "value")

        def holds(y: list[Number]) -> tuple[bool, str]:
            return compare(y[j], value), f"output {j} = {y[j]!r} is not {op} {value:g}"

    def check(x: list[Number]) -> _Violation | None:
        [y] = evaluate(x)
        ok, reason = holds(y)
        return None if ok else _Violation(f"inside the when-region, {reason}", x, y)

    return input_vector_strategy(low, high, domain.integer), check


_BUILDERS = {
    "output_range": _output_range,
    "finite": _finite,
    "deterministic": _deterministic,
    "monotonic": _monotonic,
    "robust": _robust,
    "implies": _implies,
}


# ---------------------------------------------------------------------------------------------
# Public entry points


def check_invariant(
    runner: ModelRunner,
    spec: Mapping[str, Any],
    domain: InputDomain,
    seed_value: int,
    max_examples: int = DEFAULT_EXAMPLES,
    deadline: float | None = None,
) -> InvariantOutcome:
    """Search for a violation of one declared invariant; never raises for model failures.

    The search stops at ``deadline`` (a ``time.monotonic()`` instant) when one is given.
    """
    kind = str(spec.get("kind", ""))
    evaluate = _Evaluator(runner)

    def outcome(passed: bool, message: str, **details: Any) -> InvariantOutcome:
        return InvariantOutcome(
            kind=kind,
            passed=passed,
            examples=evaluate.calls,
            counterexample_input=details.pop("counterexample_input", None),
            counterexample_output=details.pop("counterexample_output", None),
            message=message,
            spec=spec,
            **details,
        )

    def unchecked(message: str, error_code: str) -> InvariantOutcome:
        return InvariantOutcome.unchecked(spec, message, error_code, examples=evaluate.calls)

    builder = _BUILDERS.get(kind)
    if builder is None:
        return unchecked(f"unknown invariant kind {kind!r}", "invariant_invalid")
    try:
        # One run at the range's lower corner tells how many outputs the indices may name.
        try:
            outputs = len(runner.run([domain.clip(domain.low)], raw=True)[0].raw)
        except SandboxError as error:
            raise _SandboxAbort(error) from error
        strategy, check = builder(spec, domain, outputs, evaluate)
        violation, note = _search(strategy, check, seed_value, max_examples, deadline)
    except InvariantSpecError as exc:
        return unchecked(str(exc), "invariant_invalid")
    except _SearchStopped as stopped:
        return unchecked(
            f"{stopped.reason} after {evaluate.calls} of {max_examples} examples",
            stopped.code,
        )
    except _SandboxAbort as abort:
        return unchecked(
            f"the model could not be evaluated: {abort.error.detail}", abort.error.code
        )
    if violation is None:
        return outcome(True, f"no violation in {evaluate.calls} examples")
    return outcome(
        False,
        violation.message + note,
        counterexample_input=violation.input,
        counterexample_output=violation.output,
        related_input=violation.related_input,
        related_output=violation.related_output,
    )


def check_invariants(
    runner: ModelRunner,
    specs: Sequence[Mapping[str, Any]],
    domain: InputDomain,
    package_digest: str,
    max_examples: int = DEFAULT_EXAMPLES,
    time_budget_s: float = SEARCH_BUDGET_S,
) -> list[InvariantOutcome]:
    """Check every declared invariant, each with its own seed derived from the digest.

    Once the model has failed in the sandbox (hung, crashed, ran out of memory), the child is
    gone: the remaining invariants are reported with the same error instead of being run.
    All the searches share ``time_budget_s`` seconds of wall time: when it runs out, the
    invariant being searched and those after it are reported ``invariants_time_exceeded``.
    """
    deadline = time.monotonic() + time_budget_s
    outcomes: list[InvariantOutcome] = []
    for position, spec in enumerate(specs):
        kind = str(spec.get("kind", ""))
        dead = next((o for o in outcomes if o.error_code not in _CHECKABLE_AFTER), None)
        if dead is not None:
            outcomes.append(
                InvariantOutcome.unchecked(spec, "not checked: " + dead.message, dead.error_code)
            )
            continue
        outcomes.append(
            check_invariant(
                runner,
                spec,
                domain,
                seed_for(package_digest, kind, position),
                max_examples,
                deadline,
            )
        )
    return outcomes
