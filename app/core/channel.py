"""The GUI side of the transport: one pipe per producer run, read without ever blocking forever.

Why one pipe per producer instead of a shared multiprocessing.Queue: a producer killed in the
middle of a put can leave a shared queue's lock or pipe wedged, silently stopping every other
producer (measured, see DESIGN.md). With a private pipe, a producer's death is an EOF on its own
reader and nobody else notices. `drain()` waits on all readers at once with a timeout (no
busy-wait) and returns everything available as one Batch.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from producers import wire

# A drain cycle reads at most this many messages per reader, so one flooding producer cannot
# starve the others or make a cycle (and so the chart's latency) arbitrarily long.
MAX_MESSAGES_PER_READER = 64


@dataclass(frozen=True)
class RunKey:
    """Identifies one run of a producer: a restarted producer gets a new pipe and generation."""

    name: str
    generation: int


@dataclass
class ChannelEvent:
    """Something about a producer run rather than its samples: hello, error, end, eof, garbage."""

    key: RunKey
    kind: str  # "hello" | "error" | "end" | "eof" | "bad_message"
    info: dict = field(default_factory=dict)


@dataclass
class Batch:
    """All that one drain cycle collected, across producers."""

    chunks: list[tuple[str, wire.Chunk]] = field(default_factory=list)
    events: list[ChannelEvent] = field(default_factory=list)
    drops: dict[RunKey, int] = field(default_factory=dict)  # run -> dropped_total (cumulative)
    sent_at: dict[str, float] = field(default_factory=dict)  # producer -> oldest send time
    data_runs: set[RunKey] = field(default_factory=set)  # runs that sent samples
    received_at: float = 0.0

    @property
    def samples(self) -> int:
        return sum(len(c) for _, c in self.chunks)

    def __bool__(self) -> bool:
        return bool(self.chunks or self.events)


class Channel:
    def __init__(self):
        self._readers: dict[RunKey, Connection] = {}
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._closed = False

    def add(self, key: RunKey, reader: Connection) -> None:
        with self._lock:
            self._readers[key] = reader
        self.wake()

    def wake(self) -> None:
        """Interrupt a waiting drain(), e.g. to pick up a new reader or to stop."""
        with contextlib.suppress(BlockingIOError):  # already full of wake-ups: one is enough
            os.write(self._wake_w, b"\0")

    @property
    def reader_count(self) -> int:
        with self._lock:
            return len(self._readers)

    def drain(self, timeout: float) -> Batch:
        """Wait up to `timeout` for data, then read all that is available without blocking."""
        batch = Batch()
        with self._lock:
            readers = dict(self._readers)
        by_conn = {conn: key for key, conn in readers.items()}
        ready = wait([*by_conn, self._wake_r], timeout)
        if self._wake_r in ready:
            os.read(self._wake_r, 4096)
        for conn in ready:
            if conn is not self._wake_r:
                self._read_ready(by_conn[conn], conn, batch)
        batch.received_at = time.time()
        return batch

    def _read_ready(self, key: RunKey, conn: Connection, batch: Batch) -> None:
        for _ in range(MAX_MESSAGES_PER_READER):
            try:
                raw = conn.recv_bytes()
            except (EOFError, OSError):  # producer gone, possibly mid-message: drop this pipe
                self._remove(key, conn)
                batch.events.append(ChannelEvent(key, "eof"))
                return
            self._dispatch(key, raw, batch)
            if not conn.poll(0):
                return

    def _dispatch(self, key: RunKey, raw: bytes, batch: Batch) -> None:
        try:
            msg = wire.decode(raw)
        except wire.WireError as exc:
            batch.events.append(ChannelEvent(key, "bad_message", {"error": str(exc)}))
            return
        if isinstance(msg, wire.DataMessage):
            batch.chunks.extend((key.name, c) for c in msg.chunks)
            batch.drops[key] = msg.dropped_total
            batch.sent_at.setdefault(key.name, msg.sent_at)
            batch.data_runs.add(key)
        else:
            kind = {wire.HELLO: "hello", wire.ERROR: "error", wire.END: "end"}[msg.type]
            batch.events.append(ChannelEvent(key, kind, msg.info))
            if "dropped_total" in msg.info:
                batch.drops[key] = int(msg.info["dropped_total"])

    def _remove(self, key: RunKey, conn: Connection) -> None:
        with self._lock:
            if self._readers.get(key) is conn:
                del self._readers[key]
        conn.close()

    def close(self) -> None:
        with self._lock:
            readers, self._readers = list(self._readers.values()), {}
        for conn in readers:
            conn.close()
        if not self._closed:
            self._closed = True
            os.close(self._wake_r)
            os.close(self._wake_w)
