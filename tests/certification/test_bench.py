"""make bench runs, prints its tables and writes JSON with the figures it measured."""

import json

import pytest

from benchmarks import tflm_qemu as bench
from certification.simulation import toolchain

pytestmark = [pytest.mark.qemu, pytest.mark.slow]


def test_bench_writes_the_figures_it_prints(tmp_path, capsys):
    if toolchain.missing_tools():
        pytest.skip(f"needs {', '.join(toolchain.missing_tools())}")
    out = tmp_path / "bench.json"
    assert (
        bench.main(["--out", str(out), "--host-runs", "20", "--vectors", "8", "--repeats", "2"])
        == 0
    )

    printed = capsys.readouterr().out
    document = json.loads(out.read_text())
    assert {m["model"] for m in document["models"]} == set(bench.MODELS)
    for model in document["models"]:
        assert model["arena_bytes"] > 0 and model["host_label"] == "host-only"
        assert set(model["estimate_us"]) == {"cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33"}
    boards = {row["board"]: row for row in document["firmware"]}
    assert set(boards) == {"mps2-an385", "mps2-an386", "mps2-an500", "mps2-an505"}
    m4 = boards["mps2-an386"]
    assert m4["equivalent_to_tflm"] is True and m4["inferences"] == 8
    assert 0 < m4["instructions_min"] <= m4["instructions_median"] <= m4["instructions_max"]
    assert m4["estimate_max_us"] == round(m4["instructions_max"] * m4["cpi"] / 64, 2)
    assert f"{m4['estimate_min_us']}/{m4['estimate_median_us']}/{m4['estimate_max_us']}" in printed


def test_bench_refuses_nonsense_arguments(capsys):
    with pytest.raises(SystemExit) as exited:
        bench.main(["--vectors", "0"])
    assert exited.value.code == 2
    assert "must be positive" in capsys.readouterr().err
