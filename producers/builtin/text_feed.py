"""Bytes of a text source into samples on the producer's context: split, parse, emit, count.

`command` (a program's stdout) and `file` (a tailed file) both read raw bytes in chunks of up
to `READ_BYTES`, never a line at a time, and hand each chunk to `TextFeed.feed`, which splits
it into lines
(`producers.linesplit`), parses them (`producers.lineformat`), emits every series with its
times, and counts what could not be parsed in the row (`ctx.report_bad_input`), never raising.
"""

from __future__ import annotations

import time
from collections import deque

from producers.lineformat import LineParser
from producers.linesplit import LineSplitter

# One read: up to 64 KiB (a pipe's whole buffer), ~13k short lines. The syscall is then noise
# (~10 us against ~5 ms of parsing), and the lines of a chunk stay in the CPU's cache while they
# are split and parsed: 1 MiB chunks parsed number lines at 1.3M lines/s, 64 KiB ones at 2.9M,
# kv and json 10-15 % faster too (benchmarks/text_sources.py, producer side).
READ_BYTES = 64 << 10


class TextFeed:
    """One text stream's lines into `ctx`. Not thread-safe: one reader feeds it."""

    def __init__(self, ctx, fmt: str = "auto", prefix: str = "") -> None:
        self.ctx = ctx
        self.splitter = LineSplitter()
        self.parser = LineParser(fmt, prefix)
        self.lines = 0  # lines parsed (blank and comment lines excepted)
        self.bad = 0  # unparsable lines
        self.bad_examples: deque[str] = deque(maxlen=5)  # the latest, for a details text
        self._too_long = 0
        self._since: float | None = None  # when the previous batch was parsed

    def feed(self, data: bytes) -> None:
        """A chunk of the stream; a line left unterminated waits for the next chunk."""
        lines = self.splitter.feed(data)
        if lines:
            self._parse(lines)
        self._count_too_long()

    def finish(self) -> None:
        """End of the stream (or of one file of it): its unterminated last line is a line."""
        lines = self.splitter.flush()
        if lines:
            self._parse(lines)
        self._count_too_long()

    def _parse(self, lines: list[str]) -> None:
        now = time.time()
        parsed = self.parser.parse(lines, now, self._since)
        self._since = now
        emit = self.ctx.emit
        for name, (times, values) in parsed.series.items():
            emit(name, values, timestamps=times)
        self.lines += parsed.lines
        if parsed.bad:
            self.bad += parsed.bad
            self.bad_examples.extend(parsed.bad_examples)
            self.ctx.report_bad_input(parsed.bad, parsed.bad_examples, what="unparsable lines")

    def _count_too_long(self) -> None:
        new = self.splitter.too_long - self._too_long
        if new > 0:
            self._too_long = self.splitter.too_long
            limit = self.splitter.max_line_bytes
            self.bad += new
            self.bad_examples.append(f"a line longer than {limit:,} bytes (dropped)")
            self.ctx.report_bad_input(new, [f"longer than {limit:,} bytes"], what="over-long lines")
