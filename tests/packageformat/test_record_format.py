"""RECORD: what the packer writes, the parser reads back, and every malformed line is refused."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.packageformat import PackageError, Record, RecordEntry, parse_record, write_record

paths = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80).filter(
    lambda path: path != "RECORD"
)
entries = st.lists(
    st.builds(
        RecordEntry,
        path=paths,
        sha256=st.binary(min_size=32, max_size=32).map(bytes.hex),
        size=st.integers(min_value=0, max_value=2**62),
    ),
    min_size=1,
    max_size=20,
    unique_by=lambda entry: entry.path,
)


@given(entries)
def test_written_record_parses_back_to_the_same_entries(record_entries):
    parsed = parse_record(write_record(record_entries))
    assert parsed.entries == {entry.path: entry for entry in record_entries}


@given(entries)
def test_record_bytes_do_not_depend_on_entry_order(record_entries):
    assert write_record(record_entries) == write_record(list(reversed(record_entries)))


@given(st.binary(max_size=400))
def test_arbitrary_bytes_either_parse_or_are_refused_as_malformed_record(data):
    try:
        record = parse_record(data)
    except PackageError as refused:
        assert refused.code == "malformed_record"
    else:
        assert record.entries


def test_record_lines_look_like_sha256sum_output():
    content = b"weights"
    record = write_record(Record.for_files({"model.tflite": content}).entries.values())
    assert record == f"model.tflite,sha256={hashlib.sha256(content).hexdigest()},7\n".encode()


def test_paths_with_commas_and_quotes_are_quoted():
    entry = RecordEntry('docs/a,"b".md', "0" * 64, 1)
    written = write_record([entry])
    assert written.startswith(b'"docs/a,""b"".md",')
    assert parse_record(written).entries[entry.path] == entry


def test_crlf_line_ends_are_read():
    digest = "a" * 64
    record = parse_record(f"a.bin,sha256={digest},1\r\nb.bin,sha256={digest},2\r\n".encode())
    assert set(record.entries) == {"a.bin", "b.bin"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "lists no files"),
        ("a.bin,sha256=" + "a" * 64 + "\n", "expected 3 fields"),
        ("a.bin,sha256=" + "a" * 64 + ",1,extra\n", "expected 3 fields"),
        ("a.bin,sha256=" + "A" * 64 + ",1\n", "lowercase hex"),
        ("a.bin,sha256=" + "a" * 63 + ",1\n", "lowercase hex"),
        ("a.bin,md5=" + "a" * 32 + ",1\n", "lowercase hex"),
        ("a.bin,sha256=" + "a" * 64 + ",-1\n", "non-negative"),
        ("a.bin,sha256=" + "a" * 64 + ",01\n", "non-negative"),
        ("a.bin,sha256=" + "a" * 64 + ",\n", "non-negative"),
        ("a.bin,sha256=" + "a" * 64 + ",1\n\nb.bin,sha256=" + "a" * 64 + ",1\n", "line 2"),
        (",sha256=" + "a" * 64 + ",1\n", "empty"),
        ("RECORD,,\n", "must not list itself"),
        ("a.bin,sha256=" + "a" * 64 + ",1\na.bin,sha256=" + "a" * 64 + ",1\n", "twice"),
        ('"a.bin"x,sha256=' + "a" * 64 + ",1\n", "not valid CSV"),
        # A quoted field may hold a line end; "$" matched before it (before: size 1 taken).
        pytest.param(
            "a.bin,sha256=" + "a" * 64 + ',"1\n"\n', "non-negative", id="size-with-line-end"
        ),
        pytest.param("a\u0085.bin,sha256=" + "a" * 64 + ",1\n", "control", id="c1-control-in-path"),
        pytest.param(  # before: taken here, refused later as a digest_mismatch
            'a.bin,"sha256=' + "a" * 64 + '\n",1\n', "lowercase hex", id="digest-with-line-end"
        ),
    ],
)
def test_malformed_records_are_refused_with_the_line(text, reason):
    with pytest.raises(PackageError) as refused:
        parse_record(text.encode())
    assert refused.value.code == "malformed_record"
    assert reason in refused.value.detail


def test_non_utf8_record_is_refused():
    with pytest.raises(PackageError) as refused:
        parse_record(b"caf\xe9.bin,sha256=" + b"a" * 64 + b",1\n")
    assert refused.value.code == "malformed_record"
