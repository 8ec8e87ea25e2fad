"""producers.linesplit: bytes of a text source into lines, whatever the chunking, bounded memory."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.linesplit import LineSplitter


def split_all(chunks: list[bytes], max_line_bytes: int = 65536) -> tuple[list[str], int]:
    splitter = LineSplitter(max_line_bytes)
    lines = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    lines += splitter.flush()
    return lines, splitter.too_long


def reference(stream: bytes, max_line_bytes: int) -> tuple[list[str], int]:
    """The lines of a whole stream, the obvious way: one line per b"\\n", the last unterminated
    part at EOF, one trailing b"\\r" dropped, over-long lines counted instead."""
    parts = stream.split(b"\n")
    if parts[-1] == b"":
        parts.pop()  # the stream ended with a newline: no unterminated line
    lines, too_long = [], 0
    for part in parts:
        if part.endswith(b"\r"):
            part = part[:-1]
        if len(part) > max_line_bytes:
            too_long += 1
        else:
            lines.append(part.decode("utf-8", "replace"))
    return lines, too_long


def test_lines_split_on_newline_and_crlf_with_the_partial_tail_kept():
    splitter = LineSplitter()
    assert splitter.feed(b"1.5\n2.5\r\n3") == ["1.5", "2.5"]
    assert splitter.pending_bytes == 1
    assert splitter.feed(b"4\r") == []
    assert splitter.feed(b"\nx=1\n") == ["34", "x=1"]
    assert splitter.feed(b"") == []
    assert splitter.flush() == []
    assert splitter.too_long == 0


def test_empty_lines_are_returned_as_empty_strings():
    assert LineSplitter().feed(b"\n\r\na\n") == ["", "", "a"]


def test_flush_returns_the_unterminated_last_line_once():
    splitter = LineSplitter()
    assert splitter.feed(b"a\nb\r") == ["a"]
    assert splitter.flush() == ["b"]
    assert splitter.flush() == []
    assert splitter.pending_bytes == 0


def test_only_one_trailing_cr_is_stripped_and_inner_cr_kept():
    assert LineSplitter().feed(b"a\r\r\nb\rc\n") == ["a\r", "b\rc"]


def test_invalid_utf8_is_replaced_and_a_character_split_across_chunks_survives():
    splitter = LineSplitter()
    assert splitter.feed(b"caf\xc3") == []
    assert splitter.feed(b"\xa9 \xff\n") == ["café \ufffd"]


def test_bytearray_and_memoryview_are_accepted():
    splitter = LineSplitter()
    assert splitter.feed(bytearray(b"a\nb")) == ["a"]
    assert splitter.feed(memoryview(b"c\n")) == ["bc"]


def test_over_long_line_is_counted_dropped_and_the_next_line_kept():
    splitter = LineSplitter(max_line_bytes=4)
    assert splitter.feed(b"1234\n12345\nok\n") == ["1234", "ok"]
    assert splitter.too_long == 1


def test_a_line_of_exactly_max_bytes_plus_crlf_is_kept():
    splitter = LineSplitter(max_line_bytes=4)
    assert splitter.feed(b"1234\r") == []
    assert splitter.feed(b"\n") == ["1234"]
    assert splitter.too_long == 0


def test_over_long_line_across_many_chunks_is_counted_once_and_dropped_to_its_newline():
    splitter = LineSplitter(max_line_bytes=10)
    assert splitter.feed(b"ok\n0123456") == ["ok"]
    assert splitter.feed(b"789abc") == []  # 13 bytes pending: over the limit, now dropping
    assert splitter.too_long == 1
    assert splitter.pending_bytes == 0
    assert splitter.feed(b"x" * 1000) == []
    assert splitter.feed(b"yyy\nnext\nta") == ["next"]
    assert splitter.too_long == 1
    assert splitter.flush() == ["ta"]


def test_memory_stays_bounded_when_a_producer_never_prints_a_newline():
    splitter = LineSplitter(max_line_bytes=65536)
    chunk = b"9" * (1 << 20)
    for _ in range(200):  # 200 MB without a newline
        assert splitter.feed(chunk) == []
        assert splitter.pending_bytes <= 65537
    assert splitter.too_long == 1
    assert splitter.feed(b"\n1\n") == ["1"]
    assert splitter.too_long == 1


def test_over_long_tail_at_eof_is_not_returned():
    splitter = LineSplitter(max_line_bytes=3)
    assert splitter.feed(b"abcdef") == []
    assert splitter.flush() == []
    assert splitter.too_long == 1


def test_big_chunk_with_one_over_long_line_among_short_ones():
    data = b"a\n" * 100 + b"z" * 100 + b"\n" + b"b\n" * 100
    lines, too_long = split_all([data], max_line_bytes=50)
    assert lines == ["a"] * 100 + ["b"] * 100
    assert too_long == 1


def test_max_line_bytes_must_be_positive():
    with pytest.raises(ValueError, match="max_line_bytes"):
        LineSplitter(0)


# Bytes that matter to splitting: newlines, CRs, a multibyte character, an invalid byte, text.
PIECES = st.sampled_from(
    [b"\n", b"\r", b"\r\n", b"a", b"12.5", b"\xc3\xa9", b"\xff", b" ", b"x" * 9]
)
STREAMS = st.lists(PIECES, max_size=60).map(b"".join)


@settings(max_examples=300, deadline=None, database=None)
@given(stream=STREAMS, cuts=st.lists(st.integers(0, 600), max_size=12), limit=st.integers(1, 16))
def test_any_chunking_gives_the_lines_of_the_whole_stream(stream, cuts, limit):
    bounds = sorted({0, len(stream), *(c for c in cuts if c <= len(stream))})
    chunks = [stream[a:b] for a, b in pairwise(bounds)]
    assert split_all(chunks, limit) == reference(stream, limit)


@settings(max_examples=200, deadline=None, database=None)
@given(stream=STREAMS, size=st.integers(1, 7), limit=st.integers(1, 16))
def test_pending_bytes_never_exceed_the_limit(stream, size, limit):
    splitter = LineSplitter(limit)
    for i in range(0, len(stream), size):
        splitter.feed(stream[i : i + size])
        assert splitter.pending_bytes <= limit + 1
