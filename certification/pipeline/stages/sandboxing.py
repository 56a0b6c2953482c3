"""The model sandbox as the stages use it: its limits from the level's thresholds, what it
reports of its isolation, and which of its failures are the platform's."""

from certification.pipeline.levels import Thresholds
from certification.pipeline.stages.base import InfrastructureError
from certification.tflm.sandbox import SANDBOX_UNAVAILABLE, SandboxLimits


def sandbox_limits(thresholds: Thresholds) -> SandboxLimits:
    return SandboxLimits(
        cpu_seconds=thresholds.model_cpu_seconds,
        memory_bytes=thresholds.model_memory_mb * 1024 * 1024,
        wall_seconds=float(thresholds.model_wall_seconds),
    )


def isolation_metrics(isolation) -> dict:
    if isolation is None:
        return {}
    return {
        "network_isolated": isolation.network_isolated,
        "network_method": isolation.network_method,
        "privileges_dropped": isolation.privileges_dropped,
    }


def retry_if_unavailable(code: str, detail: str) -> None:
    """A sandbox that could not start says nothing of the model: every stage that runs one
    raises ``InfrastructureError`` for it (the task tries the stage again later) instead of
    failing the vendor's run."""
    if code == SANDBOX_UNAVAILABLE:
        raise InfrastructureError(detail)
