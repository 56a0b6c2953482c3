"""Shared constants for the TFLite Micro tests."""

from __future__ import annotations

from certification.tflm.sandbox import SandboxLimits

# Tight enough that a hanging model fails fast, loose enough for a loaded CI machine.
FAST_LIMITS = SandboxLimits(cpu_seconds=60, wall_seconds=10.0, startup_seconds=30.0)
