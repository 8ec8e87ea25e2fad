"""The account of every producer run: what it generated, what arrived, what was lost.

A run's counters live in memory shared with its process (`producers.tally`); the draining thread
adds what arrived from its pipe. While it runs, its drops are what its tally says; once it is
over (process reaped and pipe read to its end, or the pipe held open by a child of it for more
than EOF_GRACE_S), exactly what it generated and never arrived, whatever the cause: a kill in the
middle of a message, an outbox left full, a pipe not read to the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.channel import Batch, Channel, RunKey
from app.core.counters import CounterBook
from app.core.run_routes import RunRoutes
from producers.tally import Tally

EOF_GRACE_S = 2.0


@dataclass
class RunRecord:
    key: RunKey
    tally: Tally | None = None  # set once the process started
    received: int = 0  # samples decoded from its pipe (written by the draining thread only)
    eof: bool = False
    exited_at: float | None = None


class RunLedger:
    def __init__(self, counters: CounterBook, channel: Channel, routes: RunRoutes | None = None):
        """`routes`: whose counts a run's drops go to once its producer was renamed or removed
        (app.core.run_routes); the run's account itself stays under the name it ran with."""
        self._counters = counters
        self._channel = channel
        self._routes = routes if routes is not None else RunRoutes()
        self._runs: dict[RunKey, RunRecord] = {}

    def __len__(self) -> int:
        return len(self._runs)

    # -- the control thread: a run begins -------------------------------------------------------
    def open(self, key: RunKey) -> RunRecord:
        """Before its pipe is read: every sample is counted from the first."""
        record = self._runs[key] = RunRecord(key)
        return record

    def cancel(self, key: RunKey) -> None:
        """The process never started."""
        self._runs.pop(key, None)

    # -- the draining thread --------------------------------------------------------------------
    def count(self, batch: Batch) -> None:
        for key, n in batch.received.items():
            record = self._runs.get(key)
            if record is not None:
                record.received += n

    # -- the control thread ---------------------------------------------------------------------
    def ended(self, key: RunKey) -> None:
        """Its pipe was read to the end (EOF)."""
        record = self._runs.get(key)
        if record is not None:
            record.eof = True

    def settle(self, alive: set[RunKey], now: float) -> list[RunKey]:
        """Update every run's drops; close the accounts of runs that are over. `alive`: the
        runs whose process still runs. Returns the runs closed now."""
        closed = []
        for key, record in list(self._runs.items()):
            if record.tally is None:
                continue
            if record.exited_at is None and key not in alive:
                record.exited_at = now
            dropped = record.tally.dropped
            over = record.exited_at is not None and (
                record.eof or now - record.exited_at > EOF_GRACE_S
            )
            if over:
                dropped = max(dropped, record.tally.generated - record.received)
                if not record.eof:
                    self._channel.discard(key)
                del self._runs[key]
                closed.append(key)
            owner = self._routes.resolve(key.name, key.generation)
            if owner is not None:
                self._counters.note_run_drops(owner, key.generation, dropped)
        return closed
