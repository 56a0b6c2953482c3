"""The host side of the harness ABI: the input block layout and the UART line parser."""

from __future__ import annotations

import struct

import pytest

from certification.simulation import harness_abi
from certification.simulation.harness_abi import Dtype


def test_input_block_header_and_padded_vectors():
    block = harness_abi.pack_input_block([b"\x01\x02\x03", b"\x04\x05\x06"], output_size=2)

    magic, version, header_size, count, in_size, out_size, stride, in_dt, out_dt = struct.unpack(
        "<IHHIIIIBB", block[:26]
    )
    assert block[:4] == b"EPIN"
    assert (magic, version, header_size) == (harness_abi.INPUT_MAGIC, 1, 32)
    assert (count, in_size, out_size, stride) == (2, 3, 2, 4)
    assert (in_dt, out_dt) == (0, 0)
    assert block[32:] == b"\x01\x02\x03\x00\x04\x05\x06\x00"


def test_float_dtype_code_matches_the_c_enum():
    block = harness_abi.pack_input_block([b"\0" * 8], 4, Dtype.FLOAT32, Dtype.FLOAT32)

    assert block[24:26] == bytes([4, 4])


def test_vectors_of_different_lengths_are_refused():
    with pytest.raises(ValueError):
        harness_abi.pack_input_block([b"\x01", b"\x01\x02"], output_size=1)


def test_an_output_too_wide_for_the_abi_is_told_apart_from_a_bug():
    with pytest.raises(harness_abi.TooWideForHarness, match="1025 bytes"):
        harness_abi.pack_input_block([b"\x01"], output_size=harness_abi.MAX_OUTPUT_SIZE + 1)


def test_uart_lines_become_outputs_and_noise_is_ignored():
    log = "booting vendor fw\nEPOUT 1 0a0b\nEPOUT 0 ff00\nEPDONE 2\nEPOUT 0 1111\n"

    report = harness_abi.parse_uart(log, vector_count=2, output_size=2)

    assert report.outputs == [b"\xff\x00", b"\x0a\x0b"]
    assert report.done_count == 2
    assert report.problems == []


def test_protocol_violations_are_listed():
    log = "EPOUT 0 0a\nEPOUT 5 0a0b\nEPOUT 1 0a0b\nEPOUT 1 0a0b\nEPOUT x zz\n"

    report = harness_abi.parse_uart(log, vector_count=2, output_size=2)

    assert len(report.problems) == 4
    assert report.outputs == [None, b"\x0a\x0b"]


def test_fault_and_error_lines_are_kept():
    report = harness_abi.parse_uart("EPFAULT hfsr=40000000 cfsr=00008200\n", 1, 1)

    assert report.fault == "EPFAULT hfsr=40000000 cfsr=00008200"
