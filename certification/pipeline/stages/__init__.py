"""The stage registry: stage name → function(StageContext) -> StageOutcome."""

from certification.pipeline import levels
from certification.pipeline.stages import invariants, performance, security, simulation, validation
from certification.pipeline.stages.base import Stage

STAGES: dict[str, Stage] = {
    levels.VALIDATION: validation.run,
    levels.INVARIANTS: invariants.run,
    levels.PERFORMANCE: performance.run,
    levels.SECURITY: security.run,
    levels.SIMULATION: simulation.run,
}
