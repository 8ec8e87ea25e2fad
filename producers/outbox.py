"""The producer's bounded outbox: batches wait here for the sender thread to write them.

Bounded by bytes, not messages, so memory stays capped whatever the batch size. A slow reader
costs counted drops, never a blocked data source or an unbounded queue: when full, the newest
batch is dropped and its samples counted (in the shared `Tally`, which the app reads directly).
"""

from __future__ import annotations

import threading
from collections import deque
from multiprocessing.connection import Connection

from producers.tally import DROPPED, GENERATED, SENT, Tally


class Outbox:
    def __init__(self, conn: Connection, max_bytes: int, tally: Tally | None = None):
        self._conn = conn
        self._max = max_bytes
        self.tally = tally if tally is not None else Tally()
        self._queue: deque[tuple[bytes, int]] = deque()  # (message, samples in it)
        self._bytes = 0
        self._cv = threading.Condition()
        self._closing = False
        self.broken = False
        self._thread = threading.Thread(target=self._send_loop, name="outbox", daemon=True)
        self._thread.start()

    @property
    def dropped_samples(self) -> int:
        return self.tally.dropped

    def put(self, msg: bytes, samples: int = 0, force: bool = False) -> bool:
        """Queue a message; False (and its samples counted as dropped) if there is no room.
        `force` is for the few control messages that must go out (hello, error, end)."""
        with self._cv:
            self.tally.add(GENERATED, samples)
            full = self._queue and self._bytes + len(msg) > self._max
            if self.broken or self._closing or (full and not force):
                self.tally.add(DROPPED, samples)
                return False
            self._queue.append((msg, samples))
            self._bytes += len(msg)
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
            left = sum(samples for _, samples in self._queue)
            self._queue.clear()
            self.tally.add(DROPPED, left)
        return not self._thread.is_alive() and not self.broken

    def _send_loop(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closing:
                    self._cv.wait()
                if not self._queue:
                    return
                msg, samples = self._queue.popleft()
            try:
                self._conn.send_bytes(msg)
            except OSError:  # the reader is gone: the app closed our pipe or died
                with self._cv:
                    self.broken = True
                    left = samples + sum(s for _, s in self._queue)
                    self._queue.clear()
                    self.tally.add(DROPPED, left)
                return
            with self._cv:
                self._bytes -= len(msg)
                self.tally.add(SENT, samples)
