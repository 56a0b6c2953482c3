"""The hardware level: the vendor's firmware on QEMU, emulator-counted latency, equivalence."""

import functools
import subprocess
import textwrap

import pytest

from certification.simulation import backend, toolchain
from certification.simulation.base import SimulationLimits
from certification.tflm import builder
from certification.tflm.sample_models import SampleModel
from tests.certification.conftest import model_package
from tests.simulation.elf_edits import stretched_symbols

pytestmark = [pytest.mark.django_db, pytest.mark.qemu, pytest.mark.slow]


@pytest.fixture(scope="module")
def _plugin_path(tmp_path_factory) -> str:
    """The counting plugin, built once for the module: every test loads the same one."""
    return str(toolchain.build_plugin(tmp_path_factory.mktemp("plugin")))


@pytest.fixture(autouse=True)
def _plugin(settings, _plugin_path):
    settings.QEMU_PLUGIN_PATH = _plugin_path


def _results(run):
    return {r.test_suite: r for r in run.results.all()}


def test_good_firmware_passes_with_deterministic_instruction_counts(certify, m4_firmware):
    first = certify(model_package(firmware=m4_firmware["good"]), level="hardware")
    results = _results(first)
    assert first.status == "passed", {
        k: (r.test_result, r.test_logs[:500]) for k, r in results.items()
    }
    sim = results["simulation"].metrics
    assert sim["equivalent"] is True
    assert sim["vectors"] > 3
    assert sim["latency_label"].startswith("estimate")
    assert 0 < sim["latency_max_us"] <= 500
    # The same package again (so the same seeded inputs): the emulator counts the same.
    again = certify(model_package(firmware=m4_firmware["good"]), level="hardware")
    assert again.pk != first.pk
    assert _results(again)["simulation"].metrics["instruction_counts"] == sim["instruction_counts"]


def test_firmware_that_disagrees_with_its_model_fails_equivalence(certify, m4_firmware):
    run = certify(model_package(firmware=m4_firmware["disagree"]), level="hardware")
    simulation = _results(run)["simulation"]
    assert run.status == "failed"
    assert simulation.error_code == "firmware_mismatch"
    finding = simulation.findings[0]
    assert finding["firmware_output"] != finding["reference_output"]
    assert finding["input"] is not None


# The hang is ended by the emulator's wall-clock limit (20 s by default): any limit ends it
# the same way, with the same code, so this one waits a few seconds of it, not twenty.
HANG_TIMEOUT_S = 3.0


@pytest.mark.parametrize(
    ("fixture", "code"), [("hang", "firmware_timeout"), ("fault", "firmware_fault")]
)
def test_hostile_firmware_fails_the_stage_with_its_reason(
    certify, m4_firmware, fixture, code, monkeypatch
):
    if fixture == "hang":
        limits = functools.partial(SimulationLimits, timeout_s=HANG_TIMEOUT_S)
        monkeypatch.setattr(backend, "SimulationLimits", limits)
    run = certify(model_package(firmware=m4_firmware[fixture]), level="hardware")
    simulation = _results(run)["simulation"]
    assert (run.status, simulation.test_result, simulation.error_code) == ("failed", "fail", code)


def test_firmware_with_a_flood_of_endless_symbol_names_fails_with_its_reason(certify, m4_firmware):
    """The check runs in the worker, outside the simulation sandbox and its limits: a firmware
    whose symbol names never end is refused by the bounded check, not read name by name."""
    firmware = stretched_symbols(m4_firmware["good"], 30_000, 1 << 20)
    run = certify(model_package(firmware=firmware), level="hardware")
    simulation = _results(run)["simulation"]
    assert (run.status, simulation.test_result, simulation.error_code) == (
        "failed",
        "fail",
        "firmware_invalid",
    )
    assert "symbol table entries of 1 bytes" in simulation.test_logs


def test_renode_backend_without_renode_is_an_error_never_a_pass(certify, m4_firmware, settings):
    settings.SIMULATION_BACKEND = "renode"
    settings.RENODE_BINARY = "/nonexistent/renode"
    run = certify(model_package(firmware=m4_firmware["good"]), level="hardware")
    simulation = _results(run)["simulation"]
    assert (simulation.test_result, simulation.error_code) == ("error", "simulator_unavailable")
    assert run.status == "error"


def test_hardware_level_without_firmware_fails(certify):
    run = certify(model_package(), level="hardware")
    simulation = _results(run)["simulation"]
    assert (simulation.test_result, simulation.error_code) == ("fail", "firmware_missing")


PLACEHOLDER_FIRMWARE = b"\x7fELF\x01\x01\x01" + bytes(121)


def _squarer(size: int) -> SampleModel:
    """MUL(x, x) over a float32 [1, size] tensor: well behaved on [-1, 1]."""
    return SampleModel(
        name=f"squarer_{size}",
        tflite=builder.build_square(f"squarer_{size}", size),
        input_range=(-1.0, 1.0),
        input_shape=(1, size),
        output_shape=(1, size),
        invariants=({"kind": "finite"}, {"kind": "output_range", "min": 0.0, "max": 1.0}),
    )


def test_a_model_too_wide_for_the_harness_fails_the_simulation_with_a_reason_not_a_crash(
    certify,
):
    """1,100 float32 outputs: more than the harness ABI's 1,024-byte output. The hardware level
    cannot certify it; that is a failed stage with its code, not a crashed one."""
    run = certify(model_package(_squarer(1100), firmware=PLACEHOLDER_FIRMWARE), level="hardware")
    simulation = _results(run)["simulation"]
    outcome = (run.status, simulation.test_result, simulation.error_code)
    assert outcome == ("failed", "fail", "model_too_wide_for_harness"), simulation.test_logs[:300]


SQUARE_FIRMWARE = textwrap.dedent(
    """
    #include "edgeplug_harness.h"

    /* float32 [1, 4] -> float32 [1, 4]: y = x * x, as the model's MUL. Writes output_size
       bytes, as docs/firmware-harness.md says ("output size: bytes the firmware must produce
       per vector"). */
    EP_INFER int ep_infer(const void *input, uint32_t input_size, void *output,
                          uint32_t output_size)
    {
        const float *x = input;
        float y[4];
        if (input_size != sizeof y) {
            return 1;
        }
        for (uint32_t i = 0; i < 4; i++) {
            y[i] = x[i] * x[i];
        }
        const uint8_t *from = (const uint8_t *)y;
        uint8_t *to = output;
        for (uint32_t i = 0; i < output_size && i < sizeof y; i++) {
            to[i] = from[i];
        }
        return 0;
    }
    """
)


@pytest.fixture(scope="session")
def square_firmware(tmp_path_factory) -> bytes:
    missing = toolchain.missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    out = tmp_path_factory.mktemp("square")
    source = out / "square.c"
    source.write_text(SQUARE_FIRMWARE)
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(toolchain.FIRMWARE_DIR),
            "firmware",
            "BOARD=mps2-an386",
            "NAME=square",
            f"SRCS={source}",
            f"O={out}",
        ],
        check=True,
        capture_output=True,
    )
    return (out / "mps2-an386" / "square.elf").read_bytes()


def test_correct_firmware_of_a_float_model_passes_the_hardware_level(certify, square_firmware):
    """The firmware computes exactly what the model computes: the input block must tell it
    the output size in bytes (16 for four float32), as the harness ABI says, not elements."""
    run = certify(model_package(_squarer(4), firmware=square_firmware), level="hardware")
    results = _results(run)
    simulation = results["simulation"]
    assert run.status == "passed", (
        {k: (r.test_result, r.error_code) for k, r in results.items()},
        simulation.findings,
    )
