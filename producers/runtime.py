"""What runs inside a producer process: batching, sending, stopping, and dying with the parent.

The producer's own loop only calls `ctx.emit(...)` and checks `ctx.running`. This module turns
those calls into batches (10-50 ms, see `producers.builtin.sampled`), hands them to a sender
thread through a bounded outbox (`producers.outbox`: a slow app costs counted drops, never an
unbounded queue or a blocked data source), and guarantees the process ends when the app is gone,
even if the producer's own code hangs (`producers.lifeline`).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import MutableSequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import numpy as np

from producers import wire
from producers.base import get_kind
from producers.lifeline import EXIT_ORPHANED, StopListener
from producers.outbox import Outbox
from producers.tally import Tally

__all__ = ["EXIT_ORPHANED", "LaunchSpec", "Outbox", "ProducerContext", "StopListener", "child_main"]


@dataclass
class LaunchSpec:
    """Everything a child needs, all picklable: checked in the parent before the process starts."""

    name: str
    kind: str
    params: dict = field(default_factory=dict)
    batch_interval: float = 0.01
    outbox_bytes: int = 64 << 20


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
        self._stop = stop_event  # anything with is_set() and wait(timeout): StopListener, Event
        self._interval = batch_interval
        self._max_samples = max_batch_samples
        self._chunks: list[wire.Chunk] = []
        self._singles: dict[str, tuple[list[float], list[float]]] = {}
        self._pending = 0
        self._last_flush = time.monotonic()
        self.batches_sent = 0

    @property
    def batch_interval(self) -> float:
        """The shortest time between two batches: emits closer together travel together."""
        return self._interval

    @property
    def running(self) -> bool:
        """False once Stop was pressed or nobody reads our pipe any more. (If the app dies, the
        lifeline ends the process; nothing here needs to ask.)"""
        return not (self._stop.is_set() or self._outbox.broken)

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking at once on stop; returns `running`. Flushes first."""
        self.flush()
        if seconds > 0 and self.running:
            self._stop.wait(seconds)
        return self.running

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


def child_main(
    spec: LaunchSpec,
    conn: Connection,
    stop_conn: Connection,
    tally_cells: MutableSequence[int] | None = None,
) -> None:
    """Entry point of a producer process (see `app.core.launcher`). `conn` carries data to the
    app; `stop_conn` becomes readable (EOF) when the app wants us to stop; `tally_cells` is the
    shared memory where our counters live (`producers.tally`)."""
    for sig in (signal.SIGINT, signal.SIGHUP):  # meant for the app, which decides
        signal.signal(sig, signal.SIG_IGN)
    stop = StopListener(stop_conn, watch_parent=True)
    outbox = Outbox(conn, spec.outbox_bytes, Tally(tally_cells))
    code = _run_producer(spec, outbox, stop)
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
