"""app.core.counters and app.core.pipeline: every sample counted once, every lost sample shows
somewhere."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.channel import Batch, ChannelEvent, RunKey
from app.core.counters import RATE_WINDOW_S, CounterBook
from app.core.pipeline import Pipeline, forward_events
from app.core.store import SeriesStore
from producers.wire import Chunk

T_BASE = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = 500.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def chunk(series="v", n=10, t0=T_BASE, dt=0.001, last=None) -> Chunk:
    values = np.arange(n, dtype=float)
    if last is not None:
        values[-1] = last
    return Chunk(series, values, t0=t0, dt=dt)


def batch(*chunks, drops=None, sent_at=None, events=()) -> Batch:
    b = Batch(chunks=list(chunks), drops=dict(drops or {}), events=list(events))
    b.sent_at = dict(sent_at or {})
    for name, c in chunks:
        key = RunKey(name, 1)
        b.received[key] = b.received.get(key, 0) + len(c)
    return b


# -- CounterBook -----------------------------------------------------------------------------------


def test_totals_per_producer_and_overall():
    stats = CounterBook(FakeClock())
    stats.ingest(batch(("a", chunk(n=10)), ("b", chunk(n=3)), ("a", chunk("w", n=5))))
    stats.ingest(batch(("a", chunk(n=7))))
    a, b = stats.snapshot("a"), stats.snapshot("b")
    assert (a.samples, a.batches) == (22, 2)
    assert (b.samples, b.batches) == (3, 1)
    assert stats.total_samples == 25


def test_last_value_and_latest():
    stats = CounterBook(FakeClock())
    stats.ingest(batch(("a", chunk(n=4, t0=T_BASE, dt=0.5, last=42.5))))
    a = stats.snapshot("a")
    assert (a.last_series, a.last_value, a.last_time) == ("v", 42.5, T_BASE + 1.5)
    stats.ingest(batch(("b", chunk("w", n=1, t0=T_BASE + 9, last=-1.0))))
    assert stats.latest == ("b", "w", T_BASE + 9, -1.0)


def test_last_values_come_from_each_producers_newest_chunk_in_the_batch():
    stats = CounterBook(FakeClock())
    stats.ingest(
        batch(
            ("a", chunk("v", n=2, last=1.0)),
            ("b", chunk("w", n=3, last=2.0)),
            ("a", chunk("x", n=4, t0=T_BASE + 5, dt=1.0, last=3.0)),
            ("b", chunk("y", n=0)),  # empty: counts nothing, has no last value
        )
    )
    a, b = stats.snapshot("a"), stats.snapshot("b")
    assert (a.samples, a.batches, a.last_series, a.last_value, a.last_time) == (
        6, 1, "x", 3.0, T_BASE + 8
    )  # fmt: skip
    assert (b.samples, b.batches, b.last_series, b.last_value) == (3, 1, "w", 2.0)
    assert stats.latest == ("a", "x", T_BASE + 8, 3.0)
    assert stats.total_samples == 9


def test_a_batch_of_empty_chunks_only_is_counted_without_a_value():
    """An empty chunk (a producer's own wire encoding can make one) used to raise in ingest,
    out of the consumer thread."""
    stats = CounterBook(FakeClock())
    stats.ingest(batch(("a", chunk(n=0))))
    a = stats.snapshot("a")
    assert (a.samples, a.batches) == (0, 1) and math.isnan(a.last_value)
    assert stats.latest is None


def test_unknown_producer_reads_as_zero():
    stats = CounterBook(FakeClock())
    c = stats.snapshot("never-seen")
    assert (c.samples, c.batches, c.dropped) == (0, 0, 0)
    assert math.isnan(c.last_value)
    assert stats.rate("never-seen") == 0.0


def test_rate_of_a_steady_stream():
    clock = FakeClock()
    stats = CounterBook(clock)
    for _ in range(200):  # 100 samples every 10 ms: 10 000 samples per second
        clock.now += 0.01
        stats.ingest(batch(("a", chunk(n=100))))
    assert stats.rate("a") == pytest.approx(10_000, rel=1e-6)
    for _ in range(400):  # the rate changes: a window later the old rate is forgotten
        clock.now += 0.01
        stats.ingest(batch(("a", chunk(n=10))))
    assert stats.rate("a") == pytest.approx(1_000, rel=1e-6)


def test_rate_drops_to_zero_when_nothing_arrives():
    clock = FakeClock()
    stats = CounterBook(clock)
    for _ in range(10):
        clock.now += 0.1
        stats.ingest(batch(("a", chunk(n=50))))
    assert stats.rate("a") == pytest.approx(500, rel=1e-6)
    clock.now += RATE_WINDOW_S + 0.1
    assert stats.rate("a") == 0.0


def test_rate_needs_two_arrivals():
    clock = FakeClock()
    stats = CounterBook(clock)
    stats.ingest(batch(("a", chunk(n=1000))))
    assert stats.rate("a") == 0.0


def test_total_rate_sums_producers():
    clock = FakeClock()
    stats = CounterBook(clock)
    for _ in range(50):
        clock.now += 0.02
        stats.ingest(batch(("a", chunk(n=20)), ("b", chunk(n=2))))
    assert stats.total_rate() == pytest.approx(1000 + 100, rel=1e-6)


def test_drops_are_cumulative_per_run_and_summed_over_runs():
    stats = CounterBook(FakeClock())
    run1, run2 = RunKey("a", 1), RunKey("a", 2)
    stats.ingest(batch(("a", chunk()), drops={run1: 5}))
    stats.ingest(batch(("a", chunk()), drops={run1: 7}))  # the same run's total, not +7
    assert stats.snapshot("a").dropped == 7
    stats.ingest(batch(drops={run2: 3}))  # the restarted run counts from zero again
    assert stats.snapshot("a").dropped == 10
    assert stats.snapshot("a").run_drops == {1: 7, 2: 3}
    stats.ingest(batch(drops={RunKey("b", 1): 1}))
    assert stats.total_dropped() == 11


def test_refused_samples_count_as_dropped():
    stats = CounterBook(FakeClock())
    stats.ingest(batch(drops={RunKey("a", 1): 2}))
    stats.add_refused("a", 100)
    stats.add_refused("a", 5)
    a = stats.snapshot("a")
    assert (a.refused, a.dropped) == (105, 107)
    assert stats.total_dropped() == 107


def test_latency_from_send_to_store():
    stats = CounterBook(FakeClock())
    stats.ingest(batch(("a", chunk()), ("b", chunk()), sent_at={"a": 100.0, "b": 100.5}), 100.75)
    assert sorted(stats.latencies()) == [0.25, 0.75]
    stats.ingest(batch(("a", chunk()), sent_at={"a": 1.0}))  # no store time: not measured
    assert len(stats.latencies()) == 2


def test_snapshot_is_a_copy():
    stats = CounterBook(FakeClock())
    stats.ingest(batch(("a", chunk(n=3)), drops={RunKey("a", 1): 1}))
    snap = stats.snapshot("a")
    snap.samples = 999
    snap.run_drops[1] = 999
    snap.history.clear()
    again = stats.snapshot("a")
    assert again.samples == 3 and again.run_drops == {1: 1} and len(again.history) == 1


# -- Pipeline -------------------------------------------------------------------------------------


class FakeRecorder:
    def __init__(self):
        self.batches: list[Batch] = []

    def submit(self, b: Batch) -> None:
        self.batches.append(b)


def small_store(budget_series: float = 100) -> SeriesStore:
    probe = SeriesStore(raw_capacity=1024, bucket_capacity=64)
    return SeriesStore(int(budget_series * probe.series_cost), 1024, 64)


def test_pipeline_stores_records_and_counts_every_batch():
    store, stats, recorder = small_store(), CounterBook(FakeClock()), FakeRecorder()
    pipeline = Pipeline(store, stats, recorder)
    first = batch(("a", chunk(n=3, t0=T_BASE)), ("a", chunk(n=2, t0=T_BASE + 1)))
    second = batch(("b", chunk("w", n=4)))
    pipeline.process(first)
    pipeline.process(second)
    assert recorder.batches == [first.chunks, second.chunks]  # the chunks, as they arrived
    assert stats.snapshot("a").samples == 5 and stats.snapshot("b").samples == 4
    assert store.stats(("a", "v")) == (5, 0)
    assert store.stats(("b", "w")) == (4, 0)
    assert stats.total_dropped() == 0


def test_pipeline_counts_samples_the_store_refused():
    store, stats = small_store(budget_series=1.5), CounterBook(FakeClock())
    pipeline = Pipeline(store, stats)
    pipeline.process(batch(("a", chunk("x", n=10)), ("a", chunk("y", n=6)), ("b", chunk(n=4))))
    assert store.series_keys() == [("a", "x")]
    assert stats.snapshot("a").refused == 6
    assert stats.snapshot("b").refused == 4
    assert stats.total_dropped() == 10
    assert stats.snapshot("a").samples == 16  # received, even if not all could be kept


def test_pipeline_without_store_or_recorder_still_counts():
    stats = CounterBook(FakeClock())
    pipeline = Pipeline(None, stats)
    pipeline.process(batch(("a", chunk(n=8)), sent_at={"a": 0.0}))
    assert stats.snapshot("a").samples == 8
    assert len(stats.latencies()) == 1


def test_pipeline_recorder_can_be_swapped_between_batches():
    stats, first, second = CounterBook(FakeClock()), FakeRecorder(), FakeRecorder()
    pipeline = Pipeline(None, stats, first)
    pipeline.process(batch(("a", chunk())))
    pipeline.recorder = second
    pipeline.process(batch(("a", chunk())))
    pipeline.recorder = None
    pipeline.process(batch(("a", chunk())))
    assert len(first.batches) == len(second.batches) == 1
    assert stats.snapshot("a").batches == 3


class FakeSupervisor:
    def __init__(self):
        self.data: list[tuple[str, int]] = []
        self.errors: list[tuple[str, int, str, str]] = []

    def note_data(self, name, generation):
        self.data.append((name, generation))

    def note_error(self, name, generation, error, tb):
        self.errors.append((name, generation, error, tb))


def test_forward_events_tells_the_supervisor():
    sup = FakeSupervisor()
    b = batch(
        ("a", chunk()),
        events=[
            ChannelEvent(RunKey("a", 2), "error", {"error": "ValueError('x')", "traceback": "TB"}),
            ChannelEvent(RunKey("b", 1), "bad_message", {"error": "unknown message type 0x58"}),
            ChannelEvent(RunKey("c", 1), "error", {}),
            ChannelEvent(RunKey("d", 1), "eof"),
            ChannelEvent(RunKey("d", 1), "hello", {"pid": 1}),
        ],
    )
    forward_events(b, sup)
    assert sup.data == [("a", 1)]
    assert sup.errors == [
        ("a", 2, "ValueError('x')", "TB"),
        ("b", 1, "unreadable message: unknown message type 0x58", ""),
        ("c", 1, "producer raised", ""),
    ]
