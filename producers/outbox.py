"""The producer's bounded outbox: the messages on their way into the producer's pipe.

Bounded by bytes, not messages, so memory stays capped whatever the batch size. A slow reader
costs counted drops, never a blocked data source or an unbounded queue: when full, the newest
batch is dropped and its samples counted (in the shared `Tally`, which the app reads directly).

The pipe is written non-blocking, in `multiprocessing.Connection`'s framing (a 4-byte length,
then the body: the app reads it with `app.core.framing`). When nothing is waiting, `put` writes
the message at once on the producer's own thread, as far as the pipe takes it; a sender thread
finishes whatever the pipe could not take yet. Handing every message to that thread cost a
wake-up and a GIL hand-over each: about half of a slow producer's CPU.
"""

from __future__ import annotations

import os
import select
import struct
import threading
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection

from producers.tally import DROPPED, GENERATED, SENT, Tally

_LENGTH = struct.Struct("!i")
POLL_MS = 100  # how long the sender waits for room in the pipe before looking again


@dataclass
class _Frame:
    """One message and how much of it has gone out."""

    parts: list[memoryview]
    samples: int
    size: int
    written: int = 0


class Outbox:
    def __init__(self, conn: Connection, max_bytes: int, tally: Tally | None = None):
        self._conn = conn  # kept: it owns the descriptor
        self._fd = conn.fileno()
        os.set_blocking(self._fd, False)
        self._max = max_bytes
        self.tally = tally if tally is not None else Tally()
        self._queue: deque[_Frame] = deque()  # the first may be partly written
        self._bytes = 0
        self._busy = False  # a thread is writing the first frame (or the producer, inline)
        self._cv = threading.Condition()
        self._closing = False
        self.broken = False
        self._thread = threading.Thread(target=self._send_loop, name="outbox", daemon=True)
        self._thread.start()

    @property
    def dropped_samples(self) -> int:
        return self.tally.dropped

    @property
    def backlog(self) -> float:
        """How full the outbox is, 0 (empty) to 1 (what it may hold)."""
        return self._bytes / self._max

    def put(self, msg: bytes, samples: int = 0, force: bool = False) -> bool:
        """Send or queue a message; False, and its samples counted as dropped, if there is no
        room. `force` is for the few control messages that must go out (hello, error, end).
        Called from the producer's thread only."""
        frame = _Frame([memoryview(_LENGTH.pack(len(msg))), memoryview(msg)], samples, len(msg) + 4)
        with self._cv:
            self.tally.add(GENERATED, samples)
            full = self._queue and self._bytes + len(msg) > self._max
            if self.broken or self._closing or (full and not force):
                self.tally.add(DROPPED, samples)
                return False
            self._queue.append(frame)
            self._bytes += len(msg)
            if len(self._queue) > 1 or self._busy:
                self._cv.notify()
                return True
            self._busy = True
        self._write(frame)  # the pipe has likely room: no thread hop
        with self._cv:
            self._busy = False
            self._finish_if_done(frame)
            self._cv.notify()
        return True

    def close(self, timeout: float) -> bool:
        """Send what is queued (bounded by `timeout`); True if everything went out. What could
        not be sent in time is counted as dropped before the process exits."""
        with self._cv:
            self._closing = True
            self._cv.notify()
        self._thread.join(timeout)
        with self._cv:
            self._abandon()
        return not self._thread.is_alive() and not self.broken

    # -- the sender thread ----------------------------------------------------------------------
    def _send_loop(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLOUT)
        while True:
            with self._cv:
                while (not self._queue or self._busy) and not (self._closing and not self._queue):
                    self._cv.wait()
                if not self._queue or self.broken:
                    return
                frame = self._queue[0]
                self._busy = True
            while not self.broken and frame.written < frame.size and not self._write(frame):
                poller.poll(POLL_MS)  # the pipe is full: wait for the app to read
            with self._cv:
                self._busy = False
                self._finish_if_done(frame)
                if self.broken:
                    return

    # -- writing (either thread; never both at once: `_busy`) -----------------------------------
    def _write(self, frame: _Frame) -> bool:
        """Write as much of `frame` as the pipe takes now; True when it is all out."""
        while frame.written < frame.size:
            try:
                n = os.writev(self._fd, _remaining(frame))
            except BlockingIOError:
                return False
            except OSError:  # the reader is gone: the app closed our pipe or died
                with self._cv:
                    self.broken = True
                    self._abandon()
                return False
            frame.written += n
        return True

    def _finish_if_done(self, frame: _Frame) -> None:
        """(Holding the lock.) Count a frame written whole and let it go."""
        if frame.written == frame.size and self._queue and self._queue[0] is frame:
            self._queue.popleft()
            self._bytes -= frame.size - 4
            self.tally.add(SENT, frame.samples)

    def _abandon(self) -> None:
        """(Holding the lock.) Everything still queued will never be sent: count it."""
        self.tally.add(DROPPED, sum(f.samples for f in self._queue))
        self._queue.clear()
        self._bytes = 0
        self._cv.notify_all()


def _remaining(frame: _Frame) -> list[memoryview]:
    skip, out = frame.written, []
    for part in frame.parts:
        if skip >= len(part):
            skip -= len(part)
        else:
            out.append(part[skip:])
            skip = 0
    return out
