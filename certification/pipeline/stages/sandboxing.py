"""Sandbox limits for a run, from the level's thresholds."""

from certification.pipeline.levels import Thresholds
from certification.tflm.sandbox import SandboxLimits


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
