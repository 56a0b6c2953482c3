"""The stage registry: stage name → function(StageContext) -> StageOutcome.

``STAGES`` is built on first use, not when the package is imported: the stage modules bring
numpy, TFLM, Hypothesis, CycloneDX and pyelftools, which only the Celery worker needs, while
the web process imports ``certification.stages.base`` for the stage types.
"""

import functools

from certification import levels
from certification.stages.base import Stage


@functools.cache
def _registry() -> dict[str, Stage]:
    from certification.stages import invariants, performance, security, simulation, validation

    return {
        levels.VALIDATION: validation.run,
        levels.INVARIANTS: invariants.run,
        levels.PERFORMANCE: performance.run,
        levels.SECURITY: security.run,
        levels.SIMULATION: simulation.run,
    }


def __getattr__(name: str):
    if name == "STAGES":
        return _registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
