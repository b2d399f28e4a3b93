"""Stream helpers of adapters.records that adapters share."""

from __future__ import annotations

import io

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
