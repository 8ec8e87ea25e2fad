"""A producer run's counters in memory shared with the app: the drop count's control path.

Why shared memory and not a message: a message that reports drops queues behind the very data
backlog that caused them (measured: the final count never arrived when an outbox was full at
stop, and `record` said `dropped 0`). The child writes these counters in place; the app reads
them whenever it wants, also after the child has died, with no lock a killed child could hold.

Slots (int64): GENERATED samples the producer handed to its outbox (queued or refused),
DROPPED samples the child itself knows it lost (outbox full, reader gone, left unsent at exit),
SENT samples written whole into the pipe. Once a run is over, `GENERATED - received` is exactly
what never reached the app, whatever the cause (even a kill in the middle of a message).
"""

from __future__ import annotations

from collections.abc import MutableSequence

GENERATED, DROPPED, SENT = range(3)
SLOTS = 3


class Tally:
    """Typed access to the counters; `cells` is a multiprocessing RawArray('q', SLOTS) across
    processes, or a plain list in tests. Each slot has one writer thread (aligned 8-byte
    stores: a reader sees the old or the new value, never a torn one)."""

    def __init__(self, cells: MutableSequence[int] | None = None):
        self.cells = cells if cells is not None else [0] * SLOTS

    def add(self, slot: int, n: int) -> None:
        if n:
            self.cells[slot] += n

    @property
    def generated(self) -> int:
        return int(self.cells[GENERATED])

    @property
    def dropped(self) -> int:
        return int(self.cells[DROPPED])

    @property
    def sent(self) -> int:
        return int(self.cells[SENT])
