"""Bytes from a text source (a command's stdout, a tailed file, a serial port) into lines.

`LineSplitter.feed(chunk)` returns the complete lines in the chunk: split on b"\\n", one trailing
b"\\r" stripped (CRLF and LF both work), decoded as UTF-8 with errors="replace" (a bad byte
becomes U+FFFD, never an exception). The unterminated tail waits for the next chunk;
`flush()` returns it at end of stream.

Memory stays bounded whatever the source prints: a line whose content (without its line
ending) is longer than `max_line_bytes` is not returned. It is counted once in `too_long`, and
its bytes are dropped as they arrive, up to the next newline, so a producer that prints 1 GB
without a newline costs at most `max_line_bytes` of buffer, not 1 GB.

Speed: the work is a few C-level passes per chunk (rfind, one decode of all complete lines,
str.split), never a loop per byte or per line; see `python -m benchmarks.lineparse`.
"""

from __future__ import annotations


class LineSplitter:
    """Split a byte stream into text lines, bounded in memory. Not thread-safe."""

    def __init__(self, max_line_bytes: int = 65536) -> None:
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be >= 1, got {max_line_bytes}")
        self.max_line_bytes = max_line_bytes
        self.too_long = 0  # lines dropped for being longer than max_line_bytes
        self._tail = b""  # the unterminated end of the stream so far (<= max_line_bytes + 1)
        self._skipping = False  # dropping the rest of an over-long line until its newline

    @property
    def pending_bytes(self) -> int:
        """Bytes held for the unterminated line: never more than max_line_bytes + 1."""
        return len(self._tail)

    def feed(self, data: bytes) -> list[str]:
        """The lines completed by `data` (bytes-like), in order."""
        if not data:
            return []
        if not isinstance(data, bytes):
            data = bytes(data)  # bytearray, memoryview
        if self._skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return []  # still inside the over-long line
            self._skipping = False
            data = data[newline + 1 :]
        buf = self._tail + data if self._tail else data
        end = buf.rfind(b"\n")
        if end < 0:
            self._keep(buf)
            return []
        self._keep(buf[end + 1 :])
        return self._lines(buf, end)

    def flush(self) -> list[str]:
        """At end of stream: the unterminated last line, if any (then the splitter is empty)."""
        tail, self._tail, self._skipping = self._tail, b"", False
        if not tail:
            return []
        if tail.endswith(b"\r"):
            tail = tail[:-1]
        return [tail.decode("utf-8", "replace")]

    def _keep(self, tail: bytes) -> None:
        """Hold the unterminated tail, or count it and start dropping if it is already too long.
        A tail of max + 1 bytes may still be a line of max bytes plus the \\r of a CRLF."""
        limit = self.max_line_bytes
        if len(tail) > limit + 1 or (len(tail) == limit + 1 and not tail.endswith(b"\r")):
            self.too_long += 1
            self._skipping = True
            tail = b""
        self._tail = tail

    def _lines(self, buf: bytes, end: int) -> list[str]:
        """The lines of buf[:end] (end is the index of the last newline)."""
        limit = self.max_line_bytes
        if end <= limit:  # no line in there can be too long: one decode, one split
            text = buf[:end].decode("utf-8", "replace")
            if "\r" in text:
                text = text.replace("\r\n", "\n")
                if text.endswith("\r"):
                    text = text[:-1]
            return text.split("\n")
        parts = buf[:end].split(b"\n")
        if max(map(len, parts)) > limit:
            kept = []
            for part in parts:
                if len(part) > limit and not (len(part) == limit + 1 and part.endswith(b"\r")):
                    self.too_long += 1
                else:
                    kept.append(part)
            parts = kept
        text = b"\n".join(parts).decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):
                text = text[:-1]
        return text.split("\n") if parts else []
