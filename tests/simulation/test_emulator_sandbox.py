"""What the emulator's sandbox enforces: no network, a read-only system, bounded output."""

from __future__ import annotations

import pytest

from certification.simulation.base import SimulationLimits
from certification.simulation.sandbox import SANDBOX_BUBBLEWRAP, bubblewrap_works, run_confined

LIMITS = SimulationLimits(timeout_s=10, uart_cap_bytes=1024)


@pytest.fixture
def bubblewrap():
    if not bubblewrap_works():
        pytest.skip("bubblewrap cannot create namespaces on this machine")


def test_sandboxed_process_sees_no_network_but_loopback(bubblewrap, tmp_path):
    outcome = run_confined(["cat", "/proc/net/dev"], tmp_path, LIMITS)

    interfaces = [line.split(b":")[0].strip() for line in outcome.output.splitlines()[2:]]
    assert outcome.sandbox == SANDBOX_BUBBLEWRAP
    assert interfaces == [b"lo"]


def test_sandboxed_process_can_write_only_its_work_directory(bubblewrap, tmp_path):
    script = "touch /etc/edgeplug-probe; echo $?; touch ./ok; echo $?"
    outcome = run_confined(["sh", "-c", script], tmp_path, LIMITS)

    assert outcome.output.split() == [b"1", b"0"]
    assert (tmp_path / "ok").exists()


def test_environment_is_not_inherited(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEPLUG_SECRET_FOR_TEST", "s3cret")

    outcome = run_confined(["env"], tmp_path, LIMITS, use_bubblewrap=False)

    assert b"s3cret" not in outcome.output


def test_output_beyond_the_cap_kills_the_process(tmp_path):
    outcome = run_confined(["yes"], tmp_path, LIMITS, use_bubblewrap=False)

    assert outcome.output_overflowed
    assert len(outcome.output) == LIMITS.uart_cap_bytes


def test_wall_clock_limit_kills_the_process_group(tmp_path):
    limits = SimulationLimits(timeout_s=0.5)

    outcome = run_confined(
        ["sh", "-c", "sleep 30 & sleep 30"], tmp_path, limits, use_bubblewrap=False
    )

    assert outcome.timed_out
    assert outcome.duration_s < 5
