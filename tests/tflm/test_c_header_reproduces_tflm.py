"""The C header exported for fixture firmware computes exactly what TFLM computes.

Compiled with the host C compiler; the firmware build compiles the same header for Cortex-M.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from certification.tflm import builder, sample_models
from certification.tflm.builder import DenseInt8Params, DenseLayerInt8

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("cc") is None, reason="needs a host C compiler (cc)"),
]

_MAIN = r"""
#include <stdio.h>
#include "model.h"

int main(void)
{
    int8_t input[EP_MODEL_INPUT_SIZE];
    int8_t output[EP_MODEL_OUTPUT_SIZE];
    int value;
    for (;;) {
        for (int i = 0; i < EP_MODEL_INPUT_SIZE; ++i) {
            if (scanf("%d", &value) != 1) {
                return 0;
            }
            input[i] = (int8_t)value;
        }
        ep_model_infer(input, output);
        for (int o = 0; o < EP_MODEL_OUTPUT_SIZE; ++o) {
            printf(o ? " %d" : "%d", output[o]);
        }
        printf("\n");
    }
}
"""


def _compile(params: DenseInt8Params, directory: Path) -> Path:
    (directory / "model.h").write_text(builder.to_c_header(params))
    (directory / "main.c").write_text(_MAIN)
    binary = directory / "infer"
    subprocess.run(
        ["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary, "main.c"],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    return binary


def _run_c(binary: Path, codes: list[list[int]]) -> list[list[int]]:
    stdin = "\n".join(" ".join(map(str, x)) for x in codes) + "\n"
    out = subprocess.run([binary], input=stdin, capture_output=True, text=True, check=True)
    return [[int(v) for v in line.split()] for line in out.stdout.splitlines()]


def test_header_for_sensor_classifier_matches_tflm(tmp_path, open_sandbox):
    params = sample_models.sensor_classifier_params()
    rng = random.Random(9)
    codes = [[rng.randint(-128, 127) for _ in range(4)] for _ in range(2000)]
    codes += [[-128] * 4, [127] * 4, [0] * 4]
    binary = _compile(params, tmp_path)
    tflm = open_sandbox(builder.build_dense_int8(params)).run(codes, raw=True)
    assert _run_c(binary, codes) == [list(r.raw) for r in tflm]


def test_header_handles_a_left_shift_and_a_single_layer(tmp_path, open_sandbox):
    # A real multiplier above 1 gives TFLM a positive (left) shift.
    params = DenseInt8Params(
        name="amplifier",
        input_scale=0.5,
        input_zero_point=3,
        layers=(
            DenseLayerInt8(
                weights=((100, -50, 7), (-127, 127, 1)),
                bias=(1000, -2000),
                weight_scale=0.25,
                output_scale=0.03,
                output_zero_point=-5,
                relu=False,
            ),
        ),
    )
    assert params.arithmetic()[0].output_shift > 0
    rng = random.Random(2)
    codes = [[rng.randint(-128, 127) for _ in range(3)] for _ in range(1000)]
    binary = _compile(params, tmp_path)
    tflm = open_sandbox(builder.build_dense_int8(params)).run(codes, raw=True)
    assert _run_c(binary, codes) == [list(r.raw) for r in tflm]


def test_header_carries_tflm_multiplier_and_shift():
    params = sample_models.sensor_classifier_params()
    header = builder.to_c_header(params)
    for index, arithmetic in enumerate(params.arithmetic()):
        assert f"#define EP_MODEL_L{index}_MULTIPLIER {arithmetic.output_multiplier}" in header
        assert f"#define EP_MODEL_L{index}_SHIFT {arithmetic.output_shift}" in header
        assert f"#define EP_MODEL_L{index}_ACT_MIN {arithmetic.activation_min}" in header
