"""What runs inside a producer process: batching, sending, stopping, and dying with the parent.

The producer's own loop only calls `ctx.emit(...)` and checks `ctx.running`. This module turns
those calls into batches (10-50 ms, see `producers.builtin.sampled`), hands them to a sender
thread through a bounded outbox (`producers.outbox`: a slow app costs counted drops, never an
unbounded queue or a blocked data source), and guarantees the process ends when the app is gone,
even if the producer's own code hangs (`producers.lifeline`).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import MutableSequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import numpy as np

from producers import wire
from producers.lifeline import EXIT_ORPHANED, StopListener
from producers.outbox import Outbox
from producers.registry import get_kind, load_target
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
    target: str = ""  # "module:Class" as the registry found it; "" looks the kind up by name


class ProducerContext:
    """The producer's handle on the outside world: emit samples, sleep, and learn when to stop.

    Thread-safe: a source that delivers on its own threads (a library's callback, a reader per
    stream, a pool's completions) may call `emit`, `emit_sample` and the notes from any of them.
    With `background_flush`, a thread sends what is pending within `batch_interval` even when
    the producer's own loop is busy elsewhere (a user's generator sleeping after a yield);
    without it, batches go out on `wait`, on size, or at the next emit past the interval (the
    built-in sampled kinds, which call `wait` after every emit, save that thread's wake-ups).
    """

    NOTE_INTERVAL = 0.2  # at most 5 notes a second: a sweep's progress, a stream of bad lines

    def __init__(
        self,
        outbox: Outbox,
        stop_event,
        batch_interval: float = 0.01,
        max_batch_samples: int = 1 << 17,
        background_flush: bool = False,
    ):
        self._outbox = outbox
        self._stop = stop_event  # anything with is_set() and wait(timeout): StopListener, Event
        self._interval = batch_interval
        self._max_samples = max_batch_samples
        self._chunks: list[wire.Chunk] = []
        self._singles: dict[str, tuple[list[float], list[float]]] = {}
        self._pending = 0
        self._last_flush = time.monotonic()
        self._cv = threading.Condition(threading.RLock())
        self._note: dict = {}  # fields not sent yet
        self._note_sent_at = -math.inf
        self._shown: dict = {}  # what the app was last told, to send changes only
        self.problems = 0
        self._examples: deque[str] = deque(maxlen=5)
        self.groups: list[int] = []
        self._remotes: dict[str, dict] = {}  # what the app was last told of each remote row
        self._closed = False
        self._flusher = None
        self.batches_sent = 0
        if background_flush:
            self._flusher = threading.Thread(target=self._flush_loop, name="flusher", daemon=True)
            self._flusher.start()

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

    def wait_for_room(self, fraction: float = 0.25) -> bool:
        """Flush, then sleep while the outbox is fuller than `fraction` of what it may hold; returns
        `running`. For a source that can go as fast as it likes (a replay): the app's pace, not
        drops, then sets its speed. A live source never calls it (it would fall behind its data)."""
        self.flush()
        while self.running and self._outbox.backlog > fraction:
            self._stop.wait(0.002)
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
            with self._cv:
                self._chunks.append(chunk)
                self._added(len(values))

    def emit_sample(self, series: str, value: float, timestamp: float | None = None) -> None:
        """Queue one sample (stamped now unless given); batched with others, not sent alone."""
        with self._cv:
            times, values = self._singles.setdefault(series, ([], []))
            times.append(time.time() if timestamp is None else timestamp)
            values.append(value)
            self._added(1)

    def flush(self) -> None:
        with self._cv:
            self._flush_locked()

    # -- notes: what the row shows besides counts ------------------------------------------------
    def set_status(self, text: str) -> None:
        """What the producer is doing, shown after its state: `RUNNING · <text>` (e.g.
        "waiting for /dev/ttyUSB0", "12/50 done"). Sent when it changes, at most 5 times a
        second (the latest text always arrives)."""
        self._tell(status=str(text))

    def report_bad_input(self, count: int, examples=(), what: str = "bad inputs") -> None:
        """Count input that could not be used (unparsable lines, malformed datagrams): the row
        shows the total and the latest example, the details dialog the last few."""
        if count <= 0:
            return
        with self._cv:
            self.problems += count
            self._examples.extend(examples)
            last = f"; last: {self._examples[-1]}" if self._examples else ""
            self._tell(
                problems=self.problems,
                problem=f"{self.problems:,} {what}{last}",
                details=f"latest {what}:\n" + "\n".join(self._examples),
            )

    def set_details(self, text: str) -> None:
        """Longer text for the row's details dialog and tooltip (a program's last stderr lines,
        the inputs that failed)."""
        self._tell(details=str(text))

    def report_remote(self, name: str, info: dict) -> None:
        """A producer running elsewhere that this one watches (an `mqtt` subscriber in remote
        mode): the app shows it as a row of its own, `<this producer>:<name>`. `info`: state
        (STOPPED, STARTING, RUNNING, STOPPING, BACKOFF, EXITED, FATAL or UNKNOWN),
        state_text, pid, rate (samples/s), total, dropped, error, kind, received. Sent when
        it changes, at most 5 times a second."""
        info = dict(info)
        with self._cv:
            if self._remotes.get(name) == info:
                return
            self._remotes[name] = info
            self._note.setdefault("remote", {})[name] = info
            self._note_soon()

    def own_process_group(self, pgid: int) -> None:
        """A process group this producer started (e.g. `Popen(..., process_group=0)`): it is
        ended with the run however the run ends: a return, a raise, SIGKILL of this process (the
        app ends it) or the app's death (the lifeline ends it)."""
        with self._cv:
            if pgid not in self.groups:
                self.groups.append(pgid)
            self._note["pgids"] = list(self.groups)
            self._send_note()  # at once: a kill may come any moment

    def close(self) -> None:
        """Flush and stop the background flusher (the run is over)."""
        with self._cv:
            self._closed = True
            self._flush_locked()
            self._send_note()
            self._cv.notify_all()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join(1.0)

    # -- internals ---------------------------------------------------------------------------
    def _added(self, samples: int) -> None:
        was = self._pending
        self._pending += samples
        if (
            self._pending >= self._max_samples
            or time.monotonic() - self._last_flush >= self._interval
        ):
            self._flush_locked()
        elif not was and self._flusher is not None:
            self._cv.notify()

    def _flush_locked(self) -> None:
        self._last_flush = time.monotonic()
        if self._note and self._last_flush - self._note_sent_at >= self.NOTE_INTERVAL:
            self._send_note()
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

    def _tell(self, **fields) -> None:
        with self._cv:
            changed = {k: v for k, v in fields.items() if self._shown.get(k) != v}
            if not changed:
                return
            self._note.update(changed)
            self._note_soon()

    def _note_soon(self) -> None:
        """Send the pending note now, or (too soon after the last) let the flusher send it
        when its interval is up, or the next flush. Under the lock."""
        if time.monotonic() - self._note_sent_at >= self.NOTE_INTERVAL:
            self._send_note()
        elif self._flusher is not None:
            self._cv.notify()

    def _send_note(self) -> None:
        if not self._note:
            return
        note, self._note = self._note, {}
        self._shown.update({k: v for k, v in note.items() if k != "remote"})
        self._note_sent_at = time.monotonic()
        self._outbox.put(wire.encode_control(wire.NOTE, **note), force=True)

    def _flush_loop(self) -> None:
        with self._cv:
            while not self._closed:
                if not (self._pending or self._note):
                    self._cv.wait()
                    continue
                now = time.monotonic()
                due = self._last_flush + self._interval
                if self._note and not self._pending:
                    due = self._note_sent_at + self.NOTE_INTERVAL
                if now < due:
                    self._cv.wait(due - now)
                    continue
                self._flush_locked()
                if self._note:
                    self._send_note()


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
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # a group of our own: whatever we start, the app can end with us
    # multiprocessing marks us daemonic so that the app ends us if it exits without stopping
    # us; here that flag would only forbid children, which a sweep's process pool needs. We
    # have our own lifeline, and our group is ended with the run (ProducerProcess.end_groups).
    multiprocessing.current_process()._config["daemon"] = False
    run = _Run(spec)
    stop = StopListener(stop_conn, watch_parent=True, on_orphaned=run.orphaned)
    outbox = Outbox(conn, spec.outbox_bytes, Tally(tally_cells))
    code = run.run(outbox, stop)
    outbox.put(wire.encode_control(wire.END, dropped_total=outbox.dropped_samples), force=True)
    outbox.close(timeout=2.0)
    conn.close()
    sys.exit(code)


class _Run:
    """One producer's run in its process: construct, run, clean up, report a raise."""

    def __init__(self, spec: LaunchSpec):
        self.spec = spec
        self.producer = None
        self.ctx: ProducerContext | None = None
        self._cleanup_lock = threading.Lock()
        self._cleaned = False

    def run(self, outbox: Outbox, stop_event) -> int | str | None:
        """Run the producer to its end; report a raise as an ERROR message. Returns the exit
        code."""
        spec = self.spec
        try:
            outbox.put(wire.encode_control(wire.HELLO, pid=os.getpid(), kind=spec.kind), force=True)
            cls = load_target(spec.target) if spec.target else get_kind(spec.kind)
            self.producer = cls(**spec.params)
            background = getattr(cls, "flushes_in_background", True)
            self.ctx = ProducerContext(outbox, stop_event, spec.batch_interval,
                                       background_flush=background)  # fmt: skip
            self.producer.run(self.ctx)
            self.ctx.close()
        except SystemExit as exc:
            self._close_ctx()
            return exc.code
        except BaseException as exc:
            self._close_ctx()
            text = "".join(traceback.format_exception(exc))
            outbox.put(wire.encode_control(wire.ERROR, traceback=text, error=repr(exc)), force=True)
            print(text, file=sys.stderr, end="")
            return 1
        finally:
            self.cleanup()
        return 0

    def _close_ctx(self) -> None:
        if self.ctx is not None:
            with contextlib.suppress(Exception):
                self.ctx.close()

    def cleanup(self) -> None:
        """The producer's own cleanup, then SIGKILL to the groups it said it started. Once; a
        second caller (the run ending while the lifeline cleans up for a vanished app) waits
        for the first to finish, so the process never exits half-way through it."""
        with self._cleanup_lock:
            if self._cleaned:
                return
            self._cleaned = True
            if self.producer is not None:
                try:
                    self.producer.cleanup()
                except Exception:
                    traceback.print_exc()
            for pgid in self.ctx.groups if self.ctx is not None else ():
                with contextlib.suppress(OSError):
                    os.killpg(pgid, signal.SIGKILL)

    def orphaned(self) -> None:
        """The app is gone (the lifeline's thread): end what we started, and ourselves."""
        with contextlib.suppress(Exception):
            self.cleanup()
        if os.getpgrp() == os.getpid():  # our own group (never the fork server's)
            with contextlib.suppress(OSError):
                os.killpg(os.getpgrp(), signal.SIGKILL)  # pool workers in our group, and us
        os._exit(EXIT_ORPHANED)


def _run_producer(spec: LaunchSpec, outbox: Outbox, stop_event) -> int | str | None:
    """Run `spec` to its end in this process (as `child_main` does, without the process)."""
    return _Run(spec).run(outbox, stop_event)
