"""app.core.run_routes through the pipeline: after a remove or a rename, data still on its way
from the old run never brings a removed series back, and a renamed producer's history, counts
and last samples all go under its new name; a new producer given a freed name starts clean."""

from __future__ import annotations

import numpy as np

from app.core.channel import Batch, RunKey
from app.core.counters import CounterBook
from app.core.pipeline import Pipeline
from app.core.run_routes import RunRoutes
from app.core.store import SeriesStore
from producers.wire import Chunk

T0 = 1_700_000_000.0


def chunk(series: str, n: int, t0: float) -> Chunk:
    return Chunk(series, np.arange(n, dtype=np.float64), t0=t0, dt=0.01)


def batch_of(*runs: tuple[RunKey, list[Chunk]], drops: dict | None = None) -> Batch:
    """A batch as the channel makes it: chunks by run, where each run's chunks begin."""
    batch = Batch(drops=dict(drops or {}))
    for key, chunks in runs:
        batch.runs.append((len(batch.chunks), key))
        batch.chunks.extend((key.name, c) for c in chunks)
        batch.received[key] = batch.received.get(key, 0) + sum(len(c) for c in chunks)
    return batch


class Rig:
    def __init__(self):
        self.routes = RunRoutes()
        self.store = SeriesStore()
        self.counters = CounterBook()
        self.recorded: list[tuple[str, Chunk]] = []
        self.pipeline = Pipeline(self.store, self.counters, self, self.routes)

    def submit(self, chunks) -> None:  # the recorder's side
        self.recorded.extend(chunks)

    def samples(self, producer: str) -> dict[str, int]:
        return {
            s: self.store.stats((p, s))[0] for p, s in self.store.series_keys() if p == producer
        }


def test_resolve_follows_renames_in_order_and_leaves_later_runs_alone():
    routes = RunRoutes()
    assert routes.resolve("a", 1) == "a"
    routes.add("a", 3, "b")  # a renamed b after 3 runs
    assert routes.resolve("a", 3) == "b" and routes.resolve("a", 2) == "b"
    assert routes.resolve("a", 4) == "a"  # a new producer named a
    routes.add("b", 5, "a")  # ... renamed back: a's old runs come home, no loop
    assert routes.resolve("a", 3) == "a" and routes.resolve("b", 5) == "a"
    routes.add("a", 6, None)  # then removed
    assert routes.resolve("a", 3) is None and routes.resolve("b", 4) is None
    assert routes.resolve("a", 7) == "a"
    assert [r.name for r in routes.changes_since(1)] == ["b", "a"]


def test_nothing_routed_is_the_same_batch():
    routes = RunRoutes()
    batch = batch_of((RunKey("a", 1), [chunk("x", 3, T0)]))
    assert routes.route(batch) is batch
    routes.add("z", 9, None)
    assert routes.route(batch) is batch


def test_a_removed_producers_series_go_and_its_late_data_does_not_bring_them_back():
    rig = Rig()
    rig.pipeline.process(
        batch_of((RunKey("a", 1), [chunk("x", 5, T0)]), (RunKey("b", 1), [chunk("y", 5, T0)]))
    )
    keys_version = rig.store.keys_version
    rig.routes.add("a", 1, None)  # removed (the control thread)
    rig.pipeline.sync()  # the draining thread's next cycle
    assert rig.store.series_keys() == [("b", "y")] and rig.store.keys_version > keys_version
    assert rig.counters.snapshot("a").samples == 0
    nbytes = rig.store.nbytes
    # the run's last message, read after the remove; and b going on
    late = batch_of(
        (RunKey("a", 1), [chunk("x", 7, T0 + 1)]),
        (RunKey("b", 1), [chunk("y", 2, T0 + 1)]),
        drops={RunKey("a", 1): 4},
    )
    rig.pipeline.process(late)
    assert rig.store.series_keys() == [("b", "y")] and rig.samples("b") == {"y": 7}
    assert rig.counters.snapshot("a").samples == 0 and rig.counters.snapshot("a").dropped == 0
    assert rig.store.nbytes == nbytes
    # the recording keeps every sample that was sent, under the name it was sent with
    assert sum(len(c) for name, c in rig.recorded if name == "a") == 12
    # a new producer given the name: a later run, not routed, starts from nothing
    rig.pipeline.process(batch_of((RunKey("a", 2), [chunk("x", 3, T0 + 2)])))
    assert rig.samples("a") == {"x": 3} and rig.counters.snapshot("a").samples == 3


def test_a_renamed_producer_keeps_its_history_and_counts_under_its_new_name():
    rig = Rig()
    rig.pipeline.process(batch_of((RunKey("a", 1), [chunk("x", 5, T0), chunk("z", 2, T0)])))
    rig.counters.note_run_drops("a", 1, 3)
    rig.routes.add("a", 1, "b")
    rig.pipeline.process(
        batch_of((RunKey("a", 1), [chunk("x", 4, T0 + 1)]), drops={RunKey("a", 1): 5})
    )
    assert rig.samples("b") == {"x": 9, "z": 2} and rig.samples("a") == {}
    counts = rig.counters.snapshot("b")
    assert (counts.samples, counts.dropped) == (11, 5)
    assert rig.counters.snapshot("a").samples == 0
    # its next run (under the new name) continues the same series
    rig.pipeline.process(batch_of((RunKey("b", 2), [chunk("x", 1, T0 + 5)])))
    assert rig.samples("b") == {"x": 10, "z": 2} and len(rig.store.series_keys()) == 2
    assert rig.store.buffer(("b", "x")).gaps  # the stop between the runs is a gap, as ever


def test_drops_noted_under_the_new_name_before_the_move_are_kept():
    counters = CounterBook()
    counters.ingest(batch_of((RunKey("a", 1), [chunk("x", 5, T0)])))
    counters.note_run_drops("b", 1, 7)  # the control thread, already routed
    counters.move("a", "b")
    counts = counters.snapshot("b")
    assert (counts.samples, counts.dropped, counts.last_series) == (5, 7, "x")


def test_a_batch_made_without_the_channel_is_routed_by_its_newest_run():
    routes = RunRoutes()
    routes.add("a", 1, "b")
    batch = Batch(chunks=[("a", chunk("x", 2, T0)), ("c", chunk("y", 1, T0))])
    batch.received = {RunKey("a", 1): 2, RunKey("c", 1): 1}
    routed = routes.route(batch)
    assert [name for name, _ in routed.chunks] == ["b", "c"]
    assert routed.received == {RunKey("b", 1): 2, RunKey("c", 1): 1}
