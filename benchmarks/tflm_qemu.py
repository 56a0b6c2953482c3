"""``make bench``: the latency and memory figures certification gates on, measured here.

Two tables, also written as JSON (``var/bench/bench.json`` by default):

* **models** — each sample model in the TFLM sandbox: size, the smallest tensor arena TFLM
  accepts, the analytic MCU latency estimate per core, and host ``invoke()`` p50/p99 (host
  only: says nothing about a microcontroller).
* **firmware** — the good fixture firmware on every emulated board: instructions counted by
  the QEMU plugin inside ``.infer`` per inference (min/median/max), the latency estimate
  from them, the wall time of one emulator run, and whether its outputs equal TFLM's.

Nothing here asserts a time: the figures are for people and for comparing runs. The gate
(``--gate-us``, 500 µs by default as in the ``basic`` level) is shown beside each figure.
No Django: ``python -m benchmarks.tflm_qemu --help``.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.web.cli import commit
from certification.simulation import latency, toolchain
from certification.simulation.boards import BOARDS
from certification.simulation.equivalence import compare_outputs
from certification.simulation.qemu import QemuBackend
from certification.tflm import sample_models
from certification.tflm.performance import estimate_latency
from certification.tflm.sandbox import ModelSandbox, inspect_model
from edgeplug.timefmt import utc_iso

MODELS = {
    "sensor_classifier (int8)": sample_models.sensor_classifier,
    "sensor_classifier (float32)": sample_models.sensor_classifier_float,
}


def bench_models(cores: list[str], clock_mhz: float, runs: int) -> list[dict]:
    rows = []
    for name, make in MODELS.items():
        model = make()
        inspection = inspect_model(model.tflite, latency_runs=runs)
        if inspection.error_code:
            raise SystemExit(f"{name}: {inspection.error_code}: {inspection.error_detail}")
        graph = inspection.description.graph
        rows.append(
            {
                "model": name,
                "size_bytes": len(model.tflite),
                "arena_bytes": inspection.arena.smallest_bytes,
                "estimate_us": {
                    core: round(estimate_latency(graph, core, clock_mhz).estimate_us, 2)
                    for core in cores
                },
                "estimate_label": "estimate: MACs x cycles per MAC / clock",
                "host_p50_us": round(inspection.latency.p50_us, 2),
                "host_p99_us": round(inspection.latency.p99_us, 2),
                "host_label": inspection.latency.label,
            }
        )
    return rows


def _vectors(count: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    return [rng.integers(-128, 128, size=4, dtype=np.int8).tobytes() for _ in range(count)]


def _tflm_reference(vectors: list[bytes]) -> list[bytes]:
    """The model's outputs for the vectors, computed as the simulation stage does: in TFLM,
    in the certification sandbox."""
    examples = [np.frombuffer(vector, dtype=np.int8).tolist() for vector in vectors]
    with ModelSandbox(sample_models.sensor_classifier().tflite) as sandbox:
        inferences = sandbox.run(examples, raw=True)
    return [np.asarray(inference.raw, dtype=np.int8).tobytes() for inference in inferences]


def bench_firmware(clock_mhz: float, vector_count: int, repeats: int) -> list[dict]:
    missing = toolchain.missing_tools()
    if missing:
        print(f"firmware: skipped, missing {', '.join(missing)}", file=sys.stderr)
        return []
    vectors = _vectors(vector_count)
    reference = _tflm_reference(vectors)
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeplug-bench-") as tmp:
        root = Path(tmp)
        qemu = QemuBackend(plugin_path=toolchain.build_plugin(root / "plugin"))
        for core, board in sorted(BOARDS.items()):
            elf = toolchain.build_sample_fixtures(root / "firmware", board.name)["good"]
            walls, counts = [], None
            for _ in range(repeats):
                started = time.perf_counter()
                result = qemu.run(elf, core, vectors, output_size=3)
                walls.append(time.perf_counter() - started)
                if not result.ok:
                    raise SystemExit(f"{core}: {result.error_code}: {result.detail}")
                if counts is not None and counts != result.instruction_counts:
                    raise SystemExit(f"{core}: instruction counts differ between runs")
                counts = result.instruction_counts
            estimate = latency.estimate_latency(counts, core, clock_mhz)
            rows.append(
                {
                    "core": core,
                    "board": board.name,
                    "inferences": len(counts),
                    "instructions_min": estimate.instructions_min,
                    "instructions_median": estimate.instructions_median,
                    "instructions_max": estimate.instructions_max,
                    "cpi": estimate.cpi,
                    "estimate_min_us": round(estimate.min_us, 2),
                    "estimate_median_us": round(estimate.median_us, 2),
                    "estimate_max_us": round(estimate.max_us, 2),
                    "estimate_label": estimate.label,
                    "qemu_wall_s_median": round(statistics.median(walls), 3),
                    "equivalent_to_tflm": compare_outputs(vectors, result.outputs, reference).equal,
                    "deterministic_over_runs": repeats,
                }
            )
    return rows


def _print_table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _qemu_version() -> str:
    try:
        out = subprocess.run(
            ["qemu-system-arm", "--version"], capture_output=True, text=True, check=False
        )
    except OSError:
        return "not installed"
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("var/bench/bench.json"))
    parser.add_argument("--clock-mhz", type=float, default=64.0)
    parser.add_argument("--gate-us", type=float, default=latency.DEFAULT_LIMIT_US)
    parser.add_argument("--host-runs", type=int, default=500, help="invoke() timings per model")
    parser.add_argument("--vectors", type=int, default=64, help="input vectors per QEMU run")
    parser.add_argument("--repeats", type=int, default=3, help="QEMU runs per board")
    args = parser.parse_args(argv)
    if args.clock_mhz <= 0 or min(args.host_runs, args.vectors, args.repeats) < 1:
        parser.error("--clock-mhz, --host-runs, --vectors and --repeats must be positive")

    cores = sorted(BOARDS)
    models = bench_models(cores, args.clock_mhz, args.host_runs)
    firmware = bench_firmware(args.clock_mhz, args.vectors, args.repeats)

    _print_table(
        f"Models in TFLM (estimate at {args.clock_mhz:g} MHz; gate {args.gate_us:g} us)",
        ["model", "bytes", "arena B", *[f"{c} us" for c in cores], "host p50 us", "host p99 us"],
        [
            [
                m["model"],
                m["size_bytes"],
                m["arena_bytes"],
                *[m["estimate_us"][c] for c in cores],
                m["host_p50_us"],
                m["host_p99_us"],
            ]
            for m in models
        ],
    )
    _print_table(
        f"Good fixture firmware on QEMU ({args.vectors} inferences, {args.repeats} runs each; "
        f"estimate at {args.clock_mhz:g} MHz)",
        ["core", "board", "insns min/med/max", "us min/med/max", "gate", "qemu s", "== TFLM"],
        [
            [
                f["core"],
                f["board"],
                f"{f['instructions_min']}/{f['instructions_median']:g}/{f['instructions_max']}",
                f"{f['estimate_min_us']}/{f['estimate_median_us']}/{f['estimate_max_us']}",
                "pass" if f["estimate_max_us"] <= args.gate_us else "FAIL",
                f["qemu_wall_s_median"],
                f["equivalent_to_tflm"],
            ]
            for f in firmware
        ],
    )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "generated_at": utc_iso(datetime.now(UTC), seconds=True),
        "commit": commit(),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "qemu": _qemu_version(),
        },
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "models": models,
        "firmware": firmware,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
