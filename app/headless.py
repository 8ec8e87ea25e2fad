"""`streamscope record`: the session's autostart producers, headless, into a recording.

The same engine as the window (app.core.engine): this module only drives it from the main
thread. The duration counts from the moment every autostart producer is up (said hello) or has
failed, not from the command's start (3 s used to give 2.2 s of data). SIGINT, SIGTERM and SIGHUP
end the run early: producers stop, what was received is written, and the summary says exactly
what could not be written. A recording that fails (a full disk, a read-only file system) ends
the run with one `error:` line and exit code 2.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from app.core.engine import Engine
from app.core.recording import Recorder, RecordingError
from app.core.session import Session
from app.core.supervisor import ALIVE

EXIT_OK, EXIT_ERROR = 0, 2
UP_TIMEOUT_S = 15.0  # producers that are neither up nor failed by then: record anyway
STOP_BUDGET_S = 1.9  # from a stop (signal or end of duration) to the file closed
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
log = logging.getLogger("streamscope")


class SignalStop:
    """Turns SIGINT/SIGTERM/SIGHUP into a flag for the loop; restores the old handlers on exit."""

    def __init__(self):
        self.event = threading.Event()
        self._old = {}

    def __enter__(self):
        for sig in SIGNALS:
            self._old[sig] = signal.signal(sig, lambda *_: self.event.set())
        return self.event

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def record(
    session: Session, duration: float, out: str | Path, stdout: TextIO, stderr: TextIO = sys.stderr
) -> int:
    try:
        recorder = Recorder(out)
    except RecordingError as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_ERROR
    problem = recorder.wait_ready(5.0)
    if problem:
        recorder.close(0.5)
        print(f"error: {problem}", file=stderr)
        return EXIT_ERROR
    engine = Engine(session, keep_store=False)
    engine.attach_recorder(recorder)
    started = time.monotonic()
    try:
        with SignalStop() as stopped:
            engine.start_autostart()
            begin = _wait_up(engine, session, stopped)
            drain_until(engine, lambda: stopped.is_set() or recorder.error, begin + duration)
            stop_at = time.monotonic()
            engine.shutdown()
            drain_until(engine, lambda: engine.view.drained, stop_at + STOP_BUDGET_S - 0.4)
            budget = max(stop_at + STOP_BUDGET_S - time.monotonic(), 0.2)
    finally:
        summary = engine.close(recorder_timeout=budget if "budget" in locals() else 0.5)
    _print_summary(engine, summary, out, time.monotonic() - started, stdout)
    print(f"at most {recorder.max_behind_s:.2f} s between receiving a sample and writing it",
          file=stdout)  # fmt: skip
    error = summary.error if summary is not None else None
    if error:
        print(f"error: {error}", file=stderr)
        return EXIT_ERROR
    return EXIT_OK


def _wait_up(engine: Engine, session: Session, stopped: threading.Event) -> float:
    """Drain until every autostart producer is up or not alive; returns when that was."""
    names = {spec.name for spec in session.producers if spec.autostart}
    deadline = time.monotonic() + UP_TIMEOUT_S

    def up() -> bool:
        view = engine.view
        return all(n in view.up or view.entries[n].state not in ALIVE for n in names)

    # a producer starts only after the control thread handled the command: give it a cycle
    drain_until(engine, lambda: stopped.is_set() or (up() and engine.view.active), deadline)
    return time.monotonic()


def drain_until(engine: Engine, done, deadline: float) -> None:
    """Drain `engine` until `done()` or the `deadline` (monotonic): what every headless
    command does between its steps."""
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        engine.drain(min(0.05, left))


def print_producer_table(
    engine: Engine, done_label: str, done: dict, not_done: dict, stdout: TextIO
) -> None:
    """A headless command's summary per producer: what it got through (`done`: written,
    published), what was dropped anywhere (the producer's own drops plus `not_done`), its
    state and last error; then the totals. Producers that did nothing and were not meant
    to start are left out."""
    print(f"{'producer':<16} {done_label:>12} {'dropped':>10}  state", file=stdout)
    total_done = total_dropped = 0
    for name, info in engine.view.entries.items():
        n = done.get(name, 0)
        lost = engine.counters.snapshot(name).dropped + not_done.get(name, 0)
        if not (n or lost or info.spec.autostart):
            continue
        total_done, total_dropped = total_done + n, total_dropped + lost
        detail = f" ({info.last_error})" if info.last_error else ""
        print(f"{name:<16} {n:>12} {lost:>10}  {info.state.value}{detail}", file=stdout)
    print(f"{'total':<16} {total_done:>12} {total_dropped:>10}", file=stdout)


def _print_summary(engine: Engine, summary, out, elapsed: float, stdout: TextIO) -> None:
    written = summary.written if summary is not None else {}
    not_written = summary.dropped if summary is not None else {}
    print(f"recorded to {out} in {elapsed:.1f} s", file=stdout)
    print_producer_table(engine, "written", written, not_written, stdout)
