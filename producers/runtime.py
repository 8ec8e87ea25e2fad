"""What runs inside a producer process: batching, sending, stopping, and dying with the parent.

The producer's own loop only calls `ctx.emit(...)` and checks `ctx.running`. This module turns
those calls into ~10 ms batches, hands them to a sender thread through a bounded outbox (so a slow
GUI costs counted drops, never an unbounded queue or a blocked data source), and guarantees the
process ends when the GUI process is gone, even if the producer's own code hangs.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from multiprocessing import parent_process
from multiprocessing.connection import Connection, wait

import numpy as np

from producers import wire
from producers.base import get_kind

EXIT_ORPHANED = 70  # the GUI process vanished; nobody reads this code, it marks the cause in logs
PARENT_CHECK_S = 0.1


@dataclass
class LaunchSpec:
    """Everything a child needs, all picklable: checked in the parent before the process starts."""

    name: str
    kind: str
    params: dict = field(default_factory=dict)
    batch_interval: float = 0.01
    outbox_bytes: int = 64 << 20


class Outbox:
    """A bounded byte queue drained by a sender thread.

    Bounded by bytes, not messages, so memory stays capped whatever the batch size; when full,
    the newest batch is dropped and its samples are counted (reported in every later message).
    """

    def __init__(self, conn: Connection, max_bytes: int):
        self._conn = conn
        self._max = max_bytes
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._cv = threading.Condition()
        self._closing = False
        self.broken = False
        self.dropped_samples = 0
        self._thread = threading.Thread(target=self._send_loop, name="outbox", daemon=True)
        self._thread.start()

    def put(self, msg: bytes, samples: int = 0, force: bool = False) -> bool:
        with self._cv:
            full = self._queue and self._bytes + len(msg) > self._max
            if self.broken or (full and not force):
                self.dropped_samples += samples
                return False
            self._queue.append(msg)
            self._bytes += len(msg)
            self._cv.notify()
            return True

    def close(self, timeout: float) -> bool:
        """Send what is queued (bounded by `timeout`); True if everything went out."""
        with self._cv:
            self._closing = True
            self._cv.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive() and not self.broken

    def _send_loop(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closing:
                    self._cv.wait()
                if not self._queue:
                    return
                msg = self._queue.popleft()
            try:
                self._conn.send_bytes(msg)
            except OSError:  # the reader is gone: the GUI closed our pipe or died
                self.broken = True
                return
            finally:
                with self._cv:
                    self._bytes -= len(msg)


class StopListener:
    """The child's end of its stop pipe, used like an Event: set once the GUI asks to stop (it
    closes its end) or dies (the kernel closes it).

    Why not multiprocessing.Event: its lock is shared with the child; a child killed while
    holding it (it checks the flag ~100 times a second) leaves the GUI's set() blocked forever.
    Closing a pipe never blocks.
    """

    def __init__(self, conn: Connection):
        self._conn = conn
        self._set = False

    def is_set(self) -> bool:
        return self.wait(0)

    def wait(self, timeout: float) -> bool:
        if not self._set and self._conn.poll(timeout):
            self._set = True
        return self._set


class ProducerContext:
    """The producer's handle on the outside world: emit samples, sleep, and learn when to stop."""

    def __init__(
        self,
        outbox: Outbox,
        stop_event,
        batch_interval: float = 0.01,
        max_batch_samples: int = 1 << 17,
    ):
        self._outbox = outbox
        self._stop = stop_event
        self._interval = batch_interval
        self._max_samples = max_batch_samples
        self._chunks: list[wire.Chunk] = []
        self._singles: dict[str, tuple[list[float], list[float]]] = {}
        self._pending = 0
        self._last_flush = time.monotonic()
        self._parent = parent_process()
        self._parent_checked = 0.0
        self._parent_alive = True
        self.batches_sent = 0

    @property
    def running(self) -> bool:
        """False once Stop was pressed, the GUI went away, or nobody reads our pipe any more."""
        if self._stop.is_set() or self._outbox.broken:
            return False
        now = time.monotonic()
        if self._parent is not None and now - self._parent_checked > PARENT_CHECK_S:
            self._parent_checked = now
            self._parent_alive = self._parent.is_alive()
        return self._parent_alive

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on stop; returns `running`. Flushes first."""
        self.flush()
        deadline = time.monotonic() + seconds
        while self.running:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            self._stop.wait(min(left, PARENT_CHECK_S))
        return False

    def emit(self, series: str, values, timestamps=None, *, t0=None, dt=None) -> None:
        """Queue an array of samples: either explicit `timestamps` or a regular grid `t0 + i*dt`."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError("values must be one-dimensional")
        if timestamps is not None:
            times = np.asarray(timestamps, dtype=np.float64)
            if times.shape != values.shape:
                raise ValueError("timestamps and values differ in length")
            chunk = wire.Chunk(series, values, explicit_times=times)
        elif t0 is not None and dt is not None:
            chunk = wire.Chunk(series, values, float(t0), float(dt))
        else:
            raise ValueError("emit needs timestamps or t0 and dt")
        if len(values):
            self._chunks.append(chunk)
            self._pending += len(values)
            self._maybe_flush()

    def emit_sample(self, series: str, value: float, timestamp: float | None = None) -> None:
        """Queue one sample (stamped now unless given); batched with others, not sent alone."""
        times, values = self._singles.setdefault(series, ([], []))
        times.append(time.time() if timestamp is None else timestamp)
        values.append(value)
        self._pending += 1
        self._maybe_flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        chunks = self._chunks
        for series, (times, values) in self._singles.items():
            if times:
                chunks.append(
                    wire.Chunk(series, np.array(values, float), explicit_times=np.array(times))
                )
        self._chunks, self._singles = [], {}
        samples, self._pending = self._pending, 0
        msg = wire.encode_data(chunks, time.time(), self._outbox.dropped_samples)
        self._outbox.put(msg, samples)
        self.batches_sent += 1

    def _maybe_flush(self) -> None:
        if (
            self._pending >= self._max_samples
            or time.monotonic() - self._last_flush >= self._interval
        ):
            self.flush()


def _watch_parent() -> None:
    """Exit hard when the GUI process dies, even if the producer's loop is stuck in a call."""
    parent = parent_process()
    if parent is None:
        return

    def watch():
        while not wait([parent.sentinel], timeout=1.0):
            pass
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def child_main(spec: LaunchSpec, conn: Connection, stop_conn: Connection) -> None:
    """Entry point of a producer process (spawned; see `app.core.launcher`). `conn` carries data to
    the GUI; `stop_conn` becomes readable (EOF) when the GUI wants us to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the GUI decides
    _watch_parent()
    outbox = Outbox(conn, spec.outbox_bytes)
    code = _run_producer(spec, outbox, StopListener(stop_conn))
    outbox.put(wire.encode_control(wire.END, dropped_total=outbox.dropped_samples), force=True)
    outbox.close(timeout=2.0)
    conn.close()
    sys.exit(code)


def _run_producer(spec: LaunchSpec, outbox: Outbox, stop_event) -> int | str | None:
    """Run the producer to its end; report a raise as an ERROR message. Returns the exit code."""
    try:
        outbox.put(wire.encode_control(wire.HELLO, pid=os.getpid(), kind=spec.kind), force=True)
        producer = get_kind(spec.kind)(**spec.params)
        ctx = ProducerContext(outbox, stop_event, spec.batch_interval)
        producer.run(ctx)
        ctx.flush()
    except SystemExit as exc:
        return exc.code
    except BaseException as exc:
        text = "".join(traceback.format_exception(exc))
        outbox.put(wire.encode_control(wire.ERROR, traceback=text, error=repr(exc)), force=True)
        print(text, file=sys.stderr, end="")
        return 1
    return 0
