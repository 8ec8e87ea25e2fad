"""What happens to every batch, off the GUI thread: store it, record it, count it.

Run by the engine's draining thread (the window's consumer QThread, or `record`'s loop), so
every front end sees the same numbers. Nothing here waits on a disk: the recorder only queues.
"""

from __future__ import annotations

import time

from app.core.channel import Batch
from app.core.counters import CounterBook
from app.core.run_routes import RunRoutes
from app.core.store import SeriesStore


class Pipeline:
    def __init__(
        self,
        store: SeriesStore | None,
        counters: CounterBook,
        recorder=None,
        routes: RunRoutes | None = None,
    ):
        self.store = store
        self.counters = counters
        self.recorder = recorder  # anything with submit(chunks); swapped from other threads
        self.routes = (
            routes if routes is not None else RunRoutes()
        )  # removed and renamed producers (app.core.run_routes)
        self._routes_applied = 0
        self._generation: dict[str, int] = {}  # producer -> its newest run seen sending

    def sync(self) -> None:
        """Apply the removes and renames made since the last call: series and counts move to
        the new name or are forgotten. On the draining thread, before the next batch."""
        if len(self.routes) == self._routes_applied:
            return
        changes = self.routes.changes_since(self._routes_applied)
        self._routes_applied += len(changes)
        for change in changes:
            if self.store is not None:
                self.store.move_producer(change.name, change.target)
            self.counters.move(change.name, change.target)
            generation = self._generation.pop(change.name, None)
            if change.target is not None and generation is not None:
                newest = max(self._generation.get(change.target, -1), generation)
                self._generation[change.target] = newest

    def process(self, batch: Batch) -> None:
        """Store, record and count a batch. The recording gets every chunk under the name it
        was sent with (what was recorded stays recorded); the store and the counts only what
        belongs to a producer that still exists, under its name now (app.core.run_routes)."""
        self.sync()
        routed = self.routes.route(batch)
        if self.store is not None:
            if self._new_run_in(routed):
                self._store_by_run(routed)
            else:
                self._store(routed.chunks)
        recorder = self.recorder
        if recorder is not None and batch.chunks:
            recorder.submit(batch.chunks)
        self.counters.ingest(routed, stored_at=time.time())

    def _store(self, chunks) -> None:
        for name, chunk in chunks:
            if not self.store.append(name, chunk):
                self.counters.add_refused(name, len(chunk))

    def _new_run_in(self, batch: Batch) -> bool:
        """Did a run send data for the first time? One look per run per cycle, none per chunk."""
        generation = self._generation
        return any(generation.get(k.name, -1) < k.generation for k in batch.received)

    def _store_by_run(self, batch: Batch) -> None:
        """Store a cycle in which a producer's new run begins: the store is told just before
        that run's first chunk (SeriesStore.new_run), the chunks before it (the previous run's
        last) are stored as usual."""
        chunks, runs = batch.chunks, batch.runs
        if not runs:  # a batch made without the channel: its runs begin before its chunks
            for key in batch.received:
                self._begin(key)
            self._store(chunks)
            return
        ends = [start for start, _ in runs[1:]] + [len(chunks)]
        for (start, key), end in zip(runs, ends, strict=True):
            self._begin(key)
            self._store(chunks[start:end])

    def _begin(self, key) -> None:
        if self._generation.get(key.name, -1) < key.generation:
            self._generation[key.name] = key.generation
            self.store.new_run(key.name)


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
