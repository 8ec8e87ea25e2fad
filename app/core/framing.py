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
SCRATCH_BYTES = 8 << 10  # read at once, several small messages (a pipe's: 100 take 0.8 MB)
DIRECT_BYTES = 2 << 10  # an incomplete message larger than this is read into its own buffer
_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")


class FramingError(ValueError):
    """Bytes that cannot be the start of a message: the stream cannot be trusted any more."""


class FrameReader:
    """Incremental reader of one pipe (the fd is made non-blocking).

    Small messages are read in one `readv` into a scratch buffer, headers and bodies of
    several at once, and copied out; a read that returns less than asked found the pipe empty,
    so no further call is made to be told so. A slow producer's message took three system
    calls (header, body, EAGAIN raised as an exception), 3 us; now one, 1.3 us. A message
    larger than DIRECT_BYTES that has not all arrived is read into a buffer of its own, as
    before (no copy at high rates). Messages read ahead past a caller's limit are held here,
    where no wake-up tells of them: `more` says to call again (app.core.channel does)."""

    def __init__(self, fd: int, clock=time.monotonic):
        os.set_blocking(fd, False)
        self.fd = fd
        self._clock = clock
        self._buf = bytearray(SCRATCH_BYTES)
        self._lo = self._hi = 0  # bytes read and not yet taken: _buf[_lo:_hi]
        self._body: bytearray | None = None  # a large message being read straight into
        self._got = self._head = 0  # of it: body bytes read, header bytes before them
        self.partial_since: float | None = None  # a message began arriving and is not whole
        self.eof = False
        self.more = False  # the last read stopped at a limit: whole messages may be held

    @property
    def partial_bytes(self) -> int:
        """Bytes of the incomplete message held (what a writer's death mid-message loses)."""
        return self._hi - self._lo + (self._head + self._got if self._body is not None else 0)

    def read(self, max_messages: int, max_bytes: int) -> list[bytearray]:
        """Whole messages available now (at most `max_messages`, stopping once `max_bytes` were
        read). Sets `eof` when the writer has closed its end, `more` when it stopped at a limit
        (call again without waiting for the pipe: what was read ahead is held here); raises
        FramingError on garbage."""
        out: list[bytearray] = []
        budget, drained = max_bytes, False  # drained: a read found the pipe empty
        self.more = False
        while not self.eof:
            if len(out) >= max_messages or budget <= 0:
                self.more = True
                break
            if self._body is not None:  # a large message: straight into its own buffer
                if drained or not self._read_body():
                    break
                if self._got < len(self._body):
                    drained = True  # asked for all the rest, got less
                    continue
                message, self._body, self._got = self._body, None, 0
            else:
                message = self._take()
                if message is None:
                    if self._body is not None:
                        continue  # a large message: the rest of it next
                    if drained:
                        break
                    drained = self._fill()
                    if drained is None:
                        break
                    continue
            out.append(message)
            budget -= len(message)
            self.partial_since = None
        if self._body is None and self._lo == self._hi:
            self.partial_since = None
        elif self.partial_since is None and not self.more:  # (what `more` holds may be whole)
            self.partial_since = self._clock()
        return out

    def _take(self) -> bytearray | None:
        """The next whole message from the scratch buffer; None if it is not all there (a
        large one then continues in a buffer of its own)."""
        buf, lo, hi = self._buf, self._lo, self._hi
        if hi - lo < _SHORT.size:
            return None
        (size,) = _SHORT.unpack_from(buf, lo)
        start = lo + _SHORT.size
        if size == -1:  # a long message: its length follows
            if hi - lo < _SHORT.size + _LONG.size:
                return None
            (size,) = _LONG.unpack_from(buf, start)
            start += _LONG.size
        if not 0 <= size <= MAX_MESSAGE_BYTES:
            raise FramingError(f"bad message length {size}")
        end = start + size
        if end <= hi:
            self._lo = end
            return buf[start:end]
        if size > DIRECT_BYTES:
            self._body, self._got, self._head = bytearray(size), hi - start, start - lo
            self._body[: self._got] = buf[start:hi]
            self._lo = self._hi = 0
        return None

    def _fill(self) -> bool | None:
        """Read into the scratch buffer after what it holds. True if the pipe gave less than
        asked (it is empty now), False if it may hold more, None if it had nothing (or EOF)."""
        held = self._hi - self._lo
        if self._lo:  # what is held is part of one small message: move it to the front
            self._buf[:held] = self._buf[self._lo : self._hi]
            self._lo, self._hi = 0, held
        want = len(self._buf) - held
        n = self._read_into(memoryview(self._buf)[held:])
        if n is None:
            return None
        self._hi += n
        return n < want

    def _read_body(self) -> bool:
        """Read more of the large message; False if the pipe is empty for now (or at EOF)."""
        n = self._read_into(memoryview(self._body)[self._got :])
        if n is None:
            return False
        self._got += n
        return True

    def _read_into(self, view: memoryview) -> int | None:
        """Bytes read into `view`; None when the pipe is empty for now (or at EOF)."""
        try:
            n = os.readv(self.fd, [view])
        except BlockingIOError:
            return None
        if n == 0:
            self.eof = True
            return None
        return n
