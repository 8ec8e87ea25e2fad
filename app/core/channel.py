"""The app side of the transport: one pipe per producer run, read without ever blocking on one.

Why one pipe per producer instead of a shared multiprocessing.Queue: a producer killed in the
middle of a put can leave a shared queue's lock or pipe wedged, silently stopping every other
producer. With a private pipe, a producer's death is an EOF on its own reader and nobody else
notices. Why non-blocking framing (`app.core.framing`): a producer *stopped* mid-message must not
hold the reader either. `drain()` waits on every pipe at once (epoll, with a timeout: no
busy-wait) and returns what is available as one Batch; a bad message, whatever its shape, is
that producer's problem (a `bad_message` event), never the reader's death.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from app.core.framing import FrameReader, FramingError
from producers import wire

# A drain cycle reads at most this much per reader, so one flooding producer cannot starve the
# others or make a cycle (and so the chart's latency) arbitrarily long.
MAX_MESSAGES_PER_READER = 64
MAX_BYTES_PER_READER = 16 << 20
_CONTROL_KINDS = {wire.HELLO: "hello", wire.ERROR: "error", wire.END: "end", wire.NOTE: "note"}
# the fields a control message may carry, and their types: anything else is a bad message
_CONTROL_FIELDS = {
    "pid": int,
    "kind": str,
    "error": str,
    "traceback": str,
    "dropped_total": int,
    "status": str,  # note: what the producer is doing ("waiting for /dev/ttyUSB0")
    "problem": str,  # note: its input's latest problem ("3 unparsable lines; last: ...")
    "problems": int,  # note: how many bad inputs so far
    "details": str,  # note: longer text for the details dialog (stderr tail, failed inputs)
    "pgids": list,  # note: process groups it started, to end with the run
    "remote": dict,  # note: rows of producers it watches elsewhere, by name (see _remote_rows)
}
# a remote row's fields and their types (an mqtt subscriber reports what publishers say)
_REMOTE_FIELDS = {
    "state": str, "state_text": str, "pid": (int, type(None)), "rate": (int, float),
    "total": int, "dropped": int, "error": str, "kind": str, "received": int,
    "control": bool, "cmd_topic": str,
}  # fmt: skip
MAX_REMOTES = 1000
MAX_TEXT = 4096  # a note's text is shown in a table cell: longer is cut
MAX_PGIDS = 64


@dataclass(frozen=True)
class RunKey:
    """Identifies one run of a producer: a restarted producer gets a new pipe and generation."""

    name: str
    generation: int


@dataclass
class ChannelEvent:
    """Something about a producer run rather than its samples: hello, error, end, eof, garbage."""

    key: RunKey
    kind: str  # "hello" | "error" | "end" | "note" | "eof" | "bad_message"
    info: dict = field(default_factory=dict)


@dataclass
class Batch:
    """All that one drain cycle collected, across producers."""

    chunks: list[tuple[str, wire.Chunk]] = field(default_factory=list)
    events: list[ChannelEvent] = field(default_factory=list)
    drops: dict[RunKey, int] = field(default_factory=dict)  # run -> dropped_total it reported
    sent_at: dict[str, float] = field(default_factory=dict)  # producer -> oldest send time
    received: dict[RunKey, int] = field(default_factory=dict)  # run -> samples this cycle
    # where each run's chunks begin in `chunks`: (index, run), a new entry when the run changes
    runs: list[tuple[int, RunKey]] = field(default_factory=list)
    received_at: float = 0.0

    @property
    def samples(self) -> int:
        return sum(len(c) for _, c in self.chunks)

    @property
    def data_runs(self) -> set[RunKey]:
        """Runs that sent samples in this cycle."""
        return set(self.received)

    def __bool__(self) -> bool:
        return bool(self.chunks or self.events)


@dataclass
class _Reader:
    key: RunKey
    conn: Connection
    frames: FrameReader


class Channel:
    def __init__(self):
        self._selector = selectors.DefaultSelector()
        self._readers: dict[RunKey, _Reader] = {}
        self._lock = threading.Lock()  # add() comes from other threads than drain()
        self._added: list[_Reader] = []
        self._again: dict[RunKey, _Reader] = {}  # stopped at a limit: read again at once
        self._discarded: list[RunKey] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._closed = False

    def add(self, key: RunKey, reader: Connection) -> None:
        """Start reading a run's pipe (thread-safe; the next drain picks it up)."""
        with self._lock:
            self._added.append(_Reader(key, reader, FrameReader(reader.fileno())))
        self.wake()

    def discard(self, key: RunKey) -> None:
        """Stop reading a run's pipe although it has not ended (thread-safe): its process is
        gone but a child of it still holds the write end open."""
        with self._lock:
            self._discarded.append(key)
        self.wake()

    def wake(self) -> None:
        """Interrupt a waiting drain(), e.g. to pick up a new reader or to stop."""
        with contextlib.suppress(BlockingIOError, OSError):  # full of wake-ups, or closed
            os.write(self._wake_w, b"\0")

    @property
    def reader_count(self) -> int:
        with self._lock:
            return len(self._readers) + len(self._added)

    def stalled(self, now: float, after: float) -> dict[RunKey, float]:
        """Runs holding an incomplete message for more than `after` seconds -> since when.
        (Only drain()'s thread reads the readers, so call it from there.)"""
        out = {}
        for key, reader in list(self._readers.items()):
            since = reader.frames.partial_since
            if since is not None and now - since > after:
                out[key] = since
        return out

    def drain(self, timeout: float) -> Batch:
        """Wait up to `timeout` for data, then read all that is available without blocking."""
        batch = Batch()
        self._register_added()
        again, self._again = self._again, {}  # holding messages read ahead: no wake-up comes
        for selected, _ in self._selector.select(0 if again else timeout):
            reader = selected.data
            if reader is None:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
            else:
                again.pop(reader.key, None)
                self._read(reader, batch)
        for key, reader in again.items():
            if self._readers.get(key) is reader:
                self._read(reader, batch)
        batch.received_at = time.time()
        return batch

    def _register_added(self) -> None:
        with self._lock:
            added, self._added = self._added, []
            discarded, self._discarded = self._discarded, []
            for reader in added:
                self._readers[reader.key] = reader
        for reader in added:
            self._selector.register(reader.frames.fd, selectors.EVENT_READ, reader)
        for key in discarded:
            reader = self._readers.get(key)
            if reader is not None:
                self._remove(reader)

    def _read(self, reader: _Reader, batch: Batch) -> None:
        try:
            messages = reader.frames.read(MAX_MESSAGES_PER_READER, MAX_BYTES_PER_READER)
        except FramingError as exc:  # the stream cannot be resynchronised: drop this pipe
            messages = []
            batch.events.append(ChannelEvent(reader.key, "bad_message", {"error": str(exc)}))
            reader.frames.eof = True
        for raw in messages:
            self._dispatch(reader.key, raw, batch)
        if reader.frames.more:
            self._again[reader.key] = reader
        if reader.frames.eof:
            lost = reader.frames.partial_bytes
            self._remove(reader)
            batch.events.append(ChannelEvent(reader.key, "eof", {"partial_bytes": lost}))

    def _dispatch(self, key: RunKey, raw: bytearray, batch: Batch) -> None:
        try:
            msg = wire.decode(raw)
            if isinstance(msg, wire.DataMessage):
                self._add_data(key, msg, batch)
            else:
                info = _checked_control(msg.info)
                batch.events.append(ChannelEvent(key, _CONTROL_KINDS[msg.type], info))
                if "dropped_total" in info:
                    batch.drops[key] = info["dropped_total"]
        except Exception as exc:  # whatever a producer sends, it cannot kill the reader
            error = str(exc) if isinstance(exc, wire.WireError) else f"{type(exc).__name__}: {exc}"
            batch.events.append(ChannelEvent(key, "bad_message", {"error": error}))

    @staticmethod
    def _add_data(key: RunKey, msg: wire.DataMessage, batch: Batch) -> None:
        name, chunks, runs = key.name, batch.chunks, batch.runs
        if not runs or runs[-1][1] is not key:  # one reader, one key object
            runs.append((len(chunks), key))
        samples = 0
        for chunk in msg.chunks:
            chunks.append((name, chunk))
            samples += len(chunk.values)
        batch.received[key] = batch.received.get(key, 0) + samples
        batch.drops[key] = int(msg.dropped_total)
        batch.sent_at.setdefault(key.name, float(msg.sent_at))

    def _remove(self, reader: _Reader) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(reader.frames.fd)
        with self._lock:
            if self._readers.get(reader.key) is reader:
                del self._readers[reader.key]
        reader.conn.close()

    def close(self) -> None:
        with self._lock:
            readers = [*self._readers.values(), *self._added]
            self._readers, self._added = {}, []
        for reader in readers:
            reader.conn.close()
        if not self._closed:
            self._closed = True
            self._selector.close()
            os.close(self._wake_r)
            os.close(self._wake_w)


def _checked_control(info: dict) -> dict:
    """The control message's fields, type-checked: a producer reporting `dropped_total: "x"`
    (or anything unexpected) is a bad message of its own, not an exception in the reader."""
    for name, value in info.items():
        expected = _CONTROL_FIELDS.get(name)
        if expected is None:
            raise wire.WireError(f"bad control message: unknown field {name!r}")
        if not isinstance(value, expected) or isinstance(value, bool):
            raise wire.WireError(f"bad control message: {name} must be {expected.__name__}")
        if name == "pgids" and (
            len(value) > MAX_PGIDS
            or not all(isinstance(g, int) and not isinstance(g, bool) and g > 1 for g in value)
        ):
            raise wire.WireError("bad control message: pgids must be process group ids")
        if name in ("status", "problem", "details") and len(value) > MAX_TEXT:
            info[name] = value[:MAX_TEXT] + "..."
        if name == "remote":
            info[name] = _remote_rows(value)
    return info


def _remote_rows(rows: dict) -> dict:
    if len(rows) > MAX_REMOTES:
        raise wire.WireError(f"bad control message: more than {MAX_REMOTES} remote rows")
    checked = {}
    for key, row in rows.items():
        if not isinstance(row, dict) or not 0 < len(key) <= 200:
            raise wire.WireError("bad control message: a remote row must be a named object")
        for field_name, value in row.items():
            expected = _REMOTE_FIELDS.get(field_name)
            if (
                expected is None
                or not isinstance(value, expected)
                or (isinstance(value, bool) and expected is not bool)
            ):
                raise wire.WireError(f"bad control message: remote {field_name!r} is not valid")
        checked[key] = {k: v[:MAX_TEXT] if isinstance(v, str) else v for k, v in row.items()}
    return checked
