"""Stream helpers of adapters.records that adapters share."""

from __future__ import annotations

import io

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from adapters import records
from adapters.errors import FileStructureError
from adapters.records import iter_records, with_head


def test_with_head_puts_back_the_bytes_read_to_sniff_a_file() -> None:
    stream = io.BytesIO(b"W4AAA\nW4BBB\nW4CCC")
    head = stream.read(2)
    again = with_head(head, stream)
    assert again.read(3) == b"W4A"
    assert again.readline() == b"AA\n"
    assert list(again) == [b"W4BBB\n", b"W4CCC"]


def test_with_head_feeds_iter_records_in_both_framings() -> None:
    for data in (b"AB\nCD\nEF\n", b"ABCDEF"):
        stream = io.BytesIO(data)
        head = stream.read(1)
        assert [r for _, r in iter_records(with_head(head, stream), 2)] == [b"AB", b"CD", b"EF"]


def _lines(data: bytes, length: int = 4) -> list[tuple[int, bytes]]:
    return list(iter_records(io.BytesIO(data), length))


def test_line_framing_lf_crlf_and_a_last_line_without_a_break() -> None:
    expected = [(1, b"AAAA"), (2, b"BBBB"), (3, b"CCCC")]
    assert _lines(b"AAAA\nBBBB\nCCCC\n") == expected
    assert _lines(b"AAAA\r\nBBBB\r\nCCCC\r\n") == expected
    assert _lines(b"AAAA\nBBBB\nCCCC") == expected


def test_short_lines_are_padded_and_long_lines_kept_whole_for_the_layout_to_refuse() -> None:
    assert _lines(b"AAAA\nBB\nCCCCCC\n") == [(1, b"AAAA"), (2, b"BB  "), (3, b"CCCCCC")]


def test_blank_lines_count_and_are_reported_only_when_a_record_follows() -> None:
    assert _lines(b"AAAA\n\n   \nBBBB\n\n\n") == [(1, b"AAAA"), (2, b""), (3, b""), (4, b"BBBB")]


def test_lines_cut_by_the_read_chunk_are_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "CHUNK_RECORDS", 1)  # chunks of 6 bytes: every line crosses an edge
    data = b"".join(b"%04d\r\n" % i for i in range(50)) + b"LAST"
    assert _lines(data) == [(i + 1, b"%04d" % i) for i in range(50)] + [(51, b"LAST")]


def test_fixed_framing_reports_a_partial_last_record() -> None:
    stream = io.BytesIO(b"AAAABBBBCC")
    out = []
    with pytest.raises(FileStructureError) as info:
        for rec in iter_records(stream, 4):
            out.append(rec)
    assert out == [(1, b"AAAA"), (2, b"BBBB")] and info.value.code == "TRUNCATED"


def test_a_file_shorter_than_the_first_read_is_split_too() -> None:
    assert _lines(b"AAAA\n") == [(1, b"AAAA")]
    assert _lines(b"AAAA") == [(1, b"AAAA")]
    assert _lines(b"AA\n") == [(1, b"AA  ")]


def _reference(data: bytes, length: int) -> list[tuple[int, bytes]]:
    """The framing rules of the module docstring applied one line at a time, as a model of the reader."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    out: list[bytes] = []
    blank = 0
    for raw in lines:
        if len(raw) != length:
            raw = raw.rstrip(b"\r")
            if not raw.strip():
                blank += 1
                continue
            raw = raw.ljust(length, b" ")
        out += [b""] * blank + [raw]
        blank = 0
    return list(enumerate(out, 1))


_LINE = st.sampled_from([b"AAAA", b"BBBB", b"CC", b"DDDDDD", b"", b"  ", b"EEEE\r", b"FF\r"])


@given(st.lists(_LINE, max_size=40), st.booleans(), st.integers(1, 6))
def test_line_framing_agrees_with_the_line_by_line_model(lines: list[bytes], last_break: bool, chunk: int) -> None:
    """Whole chunks of regular records are handed on as split, others mended line by line: the two must
    give the same records and numbers wherever the chunk edges fall."""
    data = b"\n".join(lines) + (b"\n" if last_break and lines else b"")
    assume(b"\n" in data[:6] or len(data) <= 4)  # else no break in the head: back-to-back framing
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(records, "CHUNK_RECORDS", chunk)
        assert _lines(data) == _reference(data, 4)
