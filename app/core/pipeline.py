"""What happens to every batch, off the GUI thread: store it, record it, count it.

Run by the engine's draining thread (the window's consumer QThread, or `record`'s loop), so
every front end sees the same numbers. Nothing here waits on a disk: the recorder only queues.
"""

from __future__ import annotations

import time

from app.core.channel import Batch
from app.core.counters import CounterBook
from app.core.store import SeriesStore


class Pipeline:
    def __init__(self, store: SeriesStore | None, counters: CounterBook, recorder=None):
        self.store = store
        self.counters = counters
        self.recorder = recorder  # anything with submit(chunks); swapped from other threads

    def process(self, batch: Batch) -> None:
        if self.store is not None:
            for name, chunk in batch.chunks:
                if not self.store.append(name, chunk):
                    self.counters.add_refused(name, len(chunk))
        recorder = self.recorder
        if recorder is not None and batch.chunks:
            recorder.submit(batch.chunks)
        self.counters.ingest(batch, stored_at=time.time())


def forward_events(batch, supervisor) -> None:
    """Tell the supervisor what the channel learned: data arrived, a producer raised, garbage.
    (`batch`: anything with `data_runs` and `events`, e.g. a Batch.)"""
    for key in batch.data_runs:
        supervisor.note_data(key.name, key.generation)
    for event in batch.events:
        name, generation = event.key.name, event.key.generation
        if event.kind == "error":
            error = event.info.get("error", "producer raised")
            supervisor.note_error(name, generation, error, event.info.get("traceback", ""))
        elif event.kind == "note":
            supervisor.note_info(name, generation, event.info)
        elif event.kind == "bad_message":
            error = f"unreadable message: {event.info.get('error')}"
            supervisor.note_error(name, generation, error, "")
