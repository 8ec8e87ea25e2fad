"""The recorder: a thread of its own that writes what the draining thread hands it.

Why a thread and a bounded queue: the thread that drains the producers' pipes must never wait
on a disk (when it did, at 2 x 1M samples/s, the pipes backed up and 51-64 % of the samples
never reached the file, with nothing reported). `submit` only appends to a queue bounded in
bytes; when it is full the chunks are dropped *and counted per producer*, so a recording that
could not keep up says so. Even opening the file happens on the writer thread: a GUI must not
do file I/O on its own thread (an NFS mount can hang for minutes).

Every sample submitted ends up in exactly one count: written (handed to the OS by a flush) or
dropped (queue full, writing failed, or close ran out of time). A flush starts when the oldest
unflushed sample is `flush_interval_s` old, less the time flushes have been taking (no sooner
than half the interval), so samples reach the OS within about `flush_interval_s` of arrival
while the writer keeps up, and kill -9 of the process loses no more than that.

Errors (disk full, read-only file system, a directory or /proc path) stop the recording with one
readable line in `error`; nothing is raised into the caller's thread, and the writers leave the
file consistent.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.recording.columns import Source
from app.core.recording.fileio import cannot_record
from app.core.recording.formats import Writer, check_format, open_writer
from producers.wire import Chunk

MiB = 1 << 20
FLUSH_BYTES = 16 * MiB  # flush early once this much waits in the writer (~0.1 s at 10 M/s)
_CHUNK_OVERHEAD = 200  # bytes of Python objects around a chunk's arrays, for the queue bound


@dataclass(frozen=True)
class RecordingSummary:
    """What a recording ended with: per producer, samples written and not written."""

    path: Path
    written: dict[str, int]
    dropped: dict[str, int]
    error: str | None
    finished: bool  # the writer thread ended within close's timeout

    @property
    def written_total(self) -> int:
        return sum(self.written.values())

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def describe(self) -> str:
        """A few lines for a terminal or a dialog."""
        lines = [f"recorded {self.written_total:,} samples to {self.path}"]
        lines += [f"  {name}: {n:,}" for name, n in sorted(self.written.items())]
        if self.dropped_total:
            lines.append(f"NOT recorded: {self.dropped_total:,} samples")
            lines += [f"  {name}: {n:,}" for name, n in sorted(self.dropped.items()) if n]
        if self.error:
            lines.append(self.error)
        return "\n".join(lines)


@dataclass
class _Item:
    chunks: Sequence[tuple[str, Chunk]]
    nbytes: int
    at: float  # clock() when submitted


def _counts(chunks: Source) -> Counter:
    out: Counter = Counter()
    for producer, chunk in chunks:
        out[producer] += len(chunk)
    return out


def _nbytes(chunks: Source) -> int:
    total = 0
    for _, chunk in chunks:
        total += _CHUNK_OVERHEAD + chunk.values.nbytes
        if chunk.explicit_times is not None:
            total += chunk.explicit_times.nbytes
    return total


class Recorder:
    """Records submitted chunks to `path` (.csv, .parquet, .arrows/.arrow) on its own thread.

    Raises RecordingError at once for an unsupported suffix; every other problem (the file
    cannot be created, the disk fills up) shows up in `error` and in the counts."""

    def __init__(
        self,
        path: str | Path,
        *,
        queue_bytes: int = 256 * MiB,
        flush_interval_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ):
        check_format(path)
        self.path = Path(path)
        self._queue_bytes = queue_bytes
        self._flush_interval = flush_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[_Item] = deque()
        self._queued_bytes = 0
        self._written: Counter = Counter()
        self._dropped: Counter = Counter()
        self._in_writer: Counter = Counter()  # taken off the queue, not flushed yet
        self._in_writer_since: float | None = None
        self._error: str | None = None
        self._closing = False
        self._deadline = 0.0
        self._abandoned = False  # close() timed out: the thread must not add to the file
        # how long flushes take (recent maximum, decaying), to start them that much early; a
        # first guess of half the interval covers the first, slowest flushes (a cold start)
        self._flush_s = flush_interval_s / 2
        self.max_behind_s = 0.0  # the most a sample waited between submit and the OS
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    # -- the draining thread's side ---------------------------------------------------------

    def submit(self, chunks: Sequence[tuple[str, Chunk]]) -> bool:
        """Queue one drain cycle's `(producer, chunk)` pairs for writing. Never blocks on the
        writer or the disk. Returns False if they were dropped (queue full, recording stopped
        or closing); dropped samples are counted per producer."""
        chunks = [(p, c) for p, c in chunks if len(c)]
        if not chunks:
            return True
        nbytes = _nbytes(chunks)
        with self._lock:
            if (
                self._error is None
                and not self._closing
                and self._queued_bytes + nbytes <= self._queue_bytes
            ):
                self._queue.append(_Item(chunks, nbytes, self._clock()))
                self._queued_bytes += nbytes
                self._wake.notify()
                return True
            self._dropped.update(_counts(chunks))
            return False

    # -- what the UI and the summary read ---------------------------------------------------

    @property
    def samples_written(self) -> dict[str, int]:
        """Samples handed to the OS so far, per producer."""
        with self._lock:
            return dict(self._written)

    @property
    def samples_written_total(self) -> int:
        with self._lock:
            return sum(self._written.values())

    @property
    def dropped(self) -> dict[str, int]:
        """Samples that will never be written, per producer, for whatever reason."""
        with self._lock:
            return dict(self._dropped)

    @property
    def dropped_total(self) -> int:
        with self._lock:
            return sum(self._dropped.values())

    @property
    def error(self) -> str | None:
        """Why recording stopped, as one line for a user; None while all is well."""
        return self._error

    @property
    def behind_s(self) -> float:
        """Age of the oldest sample submitted but not yet written (0 when caught up)."""
        with self._lock:
            oldest = self._in_writer_since
            if oldest is None and self._queue:
                oldest = self._queue[0].at
        return 0.0 if oldest is None else max(0.0, self._clock() - oldest)

    def wait_ready(self, timeout: float) -> str | None:
        """Wait until the file is open: None if it is, else the error line (for a CLI to stop
        before starting producers)."""
        if not self._ready.wait(timeout):
            return f"cannot record to {self.path}: the file did not open within {timeout:g} s"
        return self._error

    def close(self, timeout: float = 5.0) -> RecordingSummary:
        """Write what is queued (for up to `timeout` seconds), flush, close the file. Whatever
        did not make it in time is counted as dropped. Safe to call more than once."""
        with self._lock:
            if not self._closing:
                self._closing = True
                self._deadline = time.monotonic() + timeout
                self._wake.notify()
        self._thread.join(max(timeout, 0.0))
        with self._lock:
            if self._thread.is_alive() and not self._abandoned:
                self._abandoned = True  # the writer is stuck (a hung disk, a huge batch)
                self._drop_all()
            return RecordingSummary(
                self.path,
                dict(self._written),
                dict(self._dropped),
                self._error,
                finished=not self._thread.is_alive(),
            )

    # -- the writer thread --------------------------------------------------------------------

    def _drop_all(self) -> None:
        """Count everything not yet written as dropped (lock held)."""
        for item in self._queue:
            self._dropped.update(_counts(item.chunks))
        self._queue.clear()
        self._queued_bytes = 0
        self._dropped.update(self._in_writer)
        self._in_writer.clear()
        self._in_writer_since = None

    def _run(self) -> None:
        try:
            writer = open_writer(self.path)
        except Exception as exc:
            with self._lock:
                self._error = cannot_record(self.path, exc)
                self._drop_all()
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop(writer)
        except Exception as exc:  # the disk, or anything else: stop, count, tell
            with self._lock:
                self._error = self._error or cannot_record(self.path, exc)
                self._drop_all()
            writer.discard()
        try:
            writer.close()
        except Exception as exc:
            with self._lock:
                self._error = self._error or cannot_record(self.path, exc)

    def _loop(self, writer: Writer) -> None:
        in_writer_bytes = 0
        while True:
            with self._lock:
                items = self._take(FLUSH_BYTES - in_writer_bytes)
                if items is None:  # abandoned, or out of time while closing
                    writer.discard()
                    return
                closing_done = self._closing and not self._queue
                since = self._in_writer_since
            for item in items:
                writer.write(item.chunks)
                in_writer_bytes += item.nbytes
            due = since is not None and self._clock() - since >= self._flush_after()
            if in_writer_bytes and (due or closing_done or in_writer_bytes >= FLUSH_BYTES):
                started = self._clock()
                writer.flush()
                took = self._clock() - started
                self._flush_s = max(took, 0.8 * self._flush_s + 0.2 * took)
                in_writer_bytes = 0
                with self._lock:
                    if self._abandoned:  # close() already reported these as dropped
                        writer.undo_last_flush()
                        return
                    self._written.update(self._in_writer)
                    self._in_writer.clear()
                    if since is not None:  # the oldest sample of this flush, now in the OS
                        self.max_behind_s = max(self.max_behind_s, self._clock() - since)
                    self._in_writer_since = None
            if closing_done and not in_writer_bytes:
                return

    def _flush_after(self) -> float:
        """How old the oldest unflushed sample may get before a flush starts: the interval less
        what a flush takes these days, so that samples reach the OS within about the interval
        (but no sooner than half of it: each flush is a row group, and a footer entry)."""
        return max(self._flush_interval / 2, self._flush_interval - self._flush_s)

    def _take(self, room: int) -> list[_Item] | None:
        """Wait for work, then take queued items (lock held). None means stop now."""
        while True:
            if self._abandoned:
                return None
            if self._closing and time.monotonic() >= self._deadline:
                self._drop_all()
                return None
            if self._queue or self._closing:
                break
            if self._in_writer_since is None:
                self._wake.wait()
                continue
            wait = self._in_writer_since + self._flush_after() - self._clock()
            if wait <= 0:
                break
            self._wake.wait(wait)
        items = []
        while self._queue and (not items or room > 0):
            item = self._queue.popleft()
            self._queued_bytes -= item.nbytes
            room -= item.nbytes
            self._in_writer.update(_counts(item.chunks))
            if self._in_writer_since is None:
                self._in_writer_since = item.at
            items.append(item)
        return items
