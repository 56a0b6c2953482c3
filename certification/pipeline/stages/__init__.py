"""The stage registry: stage name → function(StageContext) -> StageOutcome.

The registry is built on first use, not when the package is imported: the stage modules bring
numpy, TFLM, Hypothesis, CycloneDX and pyelftools, which only the Celery worker needs, while
other code imports ``certification.pipeline.stages.base`` for the stage types.
"""

import functools

from certification.pipeline import levels
from certification.pipeline.stages.base import Stage


@functools.cache
def _registry() -> dict[str, Stage]:
    from certification.pipeline.stages import (
        invariants,
        performance,
        security,
        simulation,
        validation,
    )

    return {
        levels.VALIDATION: validation.run,
        levels.INVARIANTS: invariants.run,
        levels.PERFORMANCE: performance.run,
        levels.SECURITY: security.run,
        levels.SIMULATION: simulation.run,
    }


def stage_function(name: str) -> Stage:
    return _registry()[name]
