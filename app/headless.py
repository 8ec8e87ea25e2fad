"""`streamscope record`: the same producers, channel and supervisor as the GUI, without Qt.

Runs the session's autostart producers for a duration, writes every received sample to CSV,
then stops them the same way the GUI does and prints what each one delivered and dropped.
SIGINT/SIGTERM end the run early, with the file complete and flushed.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import TextIO

from app.core.channel import Channel
from app.core.counters import CounterBook
from app.core.launcher import SpawnLauncher
from app.core.pipeline import Pipeline, forward_events
from app.core.recorder import CsvRecorder
from app.core.session import Session
from app.core.supervisor import Supervisor

SHUTDOWN_DEADLINE_S = 5.0


class _SignalStop:
    """Turns SIGINT/SIGTERM into a flag for the loop; restores the old handlers on exit."""

    def __init__(self):
        self.event = threading.Event()
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, lambda *_: self.event.set())
        return self.event

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def record(session: Session, duration: float, out: str | Path, stdout: TextIO) -> int:
    specs = [spec for spec in session.producers if spec.autostart]
    channel = Channel()
    stats = CounterBook()
    supervisor = Supervisor(SpawnLauncher(channel))
    for spec in specs:
        supervisor.add(spec)
    try:
        with CsvRecorder(out) as recorder, _SignalStop() as stopped:
            pipeline = Pipeline(None, stats, recorder)

            def cycle(timeout: float) -> None:
                batch = channel.drain(timeout)
                pipeline.process(batch)
                forward_events(batch, supervisor)
                supervisor.tick()

            supervisor.start_autostart()
            deadline = time.monotonic() + duration
            while not stopped.is_set() and time.monotonic() < deadline:
                cycle(min(0.05, max(deadline - time.monotonic(), 0.0)))
            supervisor.stop_all()
            hard_stop = time.monotonic() + SHUTDOWN_DEADLINE_S
            while not supervisor.all_stopped and time.monotonic() < hard_stop:
                cycle(0.05)
            while channel.reader_count:  # whatever the producers flushed on their way out
                cycle(0.05)
                if time.monotonic() > hard_stop:
                    break
    finally:
        _kill_leftovers(supervisor)
        channel.close()
    _print_summary(supervisor, stats, out, stdout)
    return 0


def _kill_leftovers(supervisor: Supervisor) -> None:
    for entry in supervisor.entries.values():
        if entry.handle is not None and entry.handle.exitcode is None:
            entry.handle.kill()


def _print_summary(supervisor: Supervisor, stats: CounterBook, out, stdout: TextIO) -> None:
    total = 0
    print(f"recorded to {out}", file=stdout)
    print(f"{'producer':<16} {'samples':>12} {'dropped':>10}  state", file=stdout)
    for name, entry in supervisor.entries.items():
        counts = stats.snapshot(name)
        total += counts.samples
        detail = f" ({entry.last_error})" if entry.last_error else ""
        print(
            f"{name:<16} {counts.samples:>12} {counts.dropped:>10}  {entry.state.value}{detail}",
            file=stdout,
        )
    print(f"{'total':<16} {total:>12} {stats.total_dropped():>10}", file=stdout)
