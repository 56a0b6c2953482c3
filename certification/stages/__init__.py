"""The stage registry: stage name → function(StageContext) -> StageOutcome."""

from certification import levels
from certification.stages import invariants, performance, security, simulation, validation
from certification.stages.base import Stage

STAGES: dict[str, Stage] = {
    levels.VALIDATION: validation.run,
    levels.INVARIANTS: invariants.run,
    levels.PERFORMANCE: performance.run,
    levels.SECURITY: security.run,
    levels.SIMULATION: simulation.run,
}
