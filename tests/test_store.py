"""app.core.store: per-series buffers inside a memory budget; what the chart draws is exact."""

from __future__ import annotations

import math
import threading
import tracemalloc

import numpy as np
import pytest

from app.core.pyramid import bucket_width
from app.core.store import RAW_SAMPLES, Envelope, SeriesStore
from producers.wire import Chunk
from tests.envelope_oracle import check_envelope

T_BASE = 1_700_000_000.0


def regular(series, values, t0, dt) -> Chunk:
    return Chunk(series, np.asarray(values, dtype=np.float64), t0=t0, dt=dt)


def explicit(series, values, times) -> Chunk:
    return Chunk(
        series,
        np.asarray(values, dtype=np.float64),
        explicit_times=np.asarray(times, dtype=np.float64),
    )


def raw_ring(store: SeriesStore, key) -> tuple[np.ndarray, np.ndarray]:
    buf = store.buffer(key)
    return buf.raw.held(0).copy(), buf.raw.held(1).copy()


def small_store(**kw) -> SeriesStore:
    kw.setdefault("raw_capacity", 1 << 12)
    kw.setdefault("bucket_capacity", 256)
    return SeriesStore(**kw)


# -- nothing lost, nothing reordered --------------------------------------------------------------


@pytest.mark.parametrize("grow", [False, True])
def test_samples_arrive_complete_and_in_order_across_batches(grow):
    """Fixed, the ring holds all 23k samples; grown by rate (1 kHz), the newest RAW_SAMPLES."""
    rng = np.random.default_rng(0)
    store = SeriesStore(raw_capacity=1 << 16, bucket_capacity=1024, grow=grow)
    times, values = [], []
    t = T_BASE
    for i in range(300):
        n = int(rng.integers(1, 150))
        if i % 2:
            dt = 1 / 1000
            chunk = regular("v", rng.normal(size=n), t, dt)
        else:
            chunk = explicit("v", rng.normal(size=n), t + np.cumsum(rng.exponential(1e-3, n)))
        times.append(chunk.timestamps)
        values.append(chunk.values)
        t = chunk.last_time + 1e-3
        assert store.append("p", chunk)
    got_t, got_v = raw_ring(store, ("p", "v"))
    times, values = np.concatenate(times), np.concatenate(values)
    assert len(got_t) == (RAW_SAMPLES if grow else len(times))
    np.testing.assert_array_equal(got_t, times[-len(got_t) :])
    np.testing.assert_array_equal(got_v, values[-len(got_t) :])
    assert store.stats(("p", "v")) == (len(values), 0)


def test_regular_chunk_timestamps_are_bit_exact():
    store = small_store()
    chunk = regular("v", np.arange(1000.0), T_BASE + 0.1, 1 / 3000)
    store.append("p", chunk)
    got_t, _ = raw_ring(store, ("p", "v"))
    assert got_t.tobytes() == chunk.timestamps.tobytes()


def test_raw_ring_keeps_the_newest_samples_after_wrapping():
    store = small_store(raw_capacity=1000)
    everything = []
    t = T_BASE
    for n in [300, 900, 1, 2500, 40, 999]:
        chunk = regular("v", np.arange(len(everything), len(everything) + n, dtype=float), t, 0.01)
        store.append("p", chunk)
        everything.extend(chunk.values)
        t = chunk.last_time + 0.01
    _, got_v = raw_ring(store, ("p", "v"))
    np.testing.assert_array_equal(got_v, np.array(everything[-1000:]))
    assert store.stats(("p", "v"))[0] == len(everything)


def test_series_and_producers_are_kept_apart():
    store = small_store()
    store.append("a", regular("x", [1.0, 2.0], T_BASE, 1.0))
    store.append("a", regular("y", [3.0], T_BASE, 1.0))
    store.append("b", regular("x", [4.0, 5.0, 6.0], T_BASE, 1.0))
    assert sorted(store.series_keys()) == [("a", "x"), ("a", "y"), ("b", "x")]
    assert list(raw_ring(store, ("a", "x"))[1]) == [1.0, 2.0]
    assert list(raw_ring(store, ("b", "x"))[1]) == [4.0, 5.0, 6.0]
    assert store.latest(("b", "x")) == (T_BASE + 2.0, 6.0)


def test_empty_chunk_creates_nothing():
    store = small_store()
    assert store.append("p", regular("v", [], T_BASE, 1.0))
    assert store.series_keys() == []
    assert store.nbytes == 0
    assert store.version == 0


def test_latest_stats_newest_time_and_version():
    store = small_store()
    assert store.newest_time() == -math.inf
    store.append("p", explicit("v", [1.0, 2.0], [T_BASE + 1, T_BASE + 2]))
    store.append("q", explicit("v", [9.0], [T_BASE + 5]))
    assert store.version == 2
    assert store.latest(("p", "v")) == (T_BASE + 2, 2.0)
    assert store.newest_time() == T_BASE + 5
    store.append("p", explicit("v", [3.0], [T_BASE + 1.5]))  # late
    assert store.latest(("p", "v"))[0] == T_BASE + 2  # the newest time does not go back
    assert store.stats(("p", "v")) == (3, 1)
    assert store.version == 3


def test_out_of_order_samples_are_counted_late_and_kept():
    store = small_store()
    t = T_BASE + np.arange(100) * 0.01
    store.append("p", explicit("v", np.arange(100.0), t))
    store.append("p", explicit("v", [500.0, 100.0], [T_BASE + 0.2, T_BASE + 1.0]))
    assert store.stats(("p", "v")) == (102, 1)
    env = store.envelope(("p", "v"), T_BASE, T_BASE + 2, 20)
    assert env.ymax.max() == 500.0  # the late sample still shows


def test_clear_frees_everything():
    store = small_store()
    store.append("p", regular("v", [1.0], T_BASE, 1.0))
    version = store.version
    store.clear()
    assert store.series_keys() == [] and store.nbytes == 0
    assert store.version > version
    assert store.append("p", regular("v", [1.0], T_BASE, 1.0))


# -- what the chart draws -------------------------------------------------------------------------


def test_zoomed_in_with_few_samples_gives_raw_points():
    store = small_store()
    t = T_BASE + np.arange(50) * 1e-3
    v = np.sin(np.arange(50.0))
    store.append("p", explicit("v", v, t))
    env = store.envelope(("p", "v"), t[10] + 1e-4, t[30] - 1e-4, 1000)
    assert isinstance(env, Envelope) and env.is_raw
    # the samples in view plus the neighbour on each side, at their true times
    np.testing.assert_array_equal(env.x, t[10:31])
    np.testing.assert_array_equal(env.ymin, v[10:31])


def test_raw_points_are_a_copy():
    store = small_store()
    store.append("p", explicit("v", [1.0, 2.0], [T_BASE, T_BASE + 1e-3]))
    env = store.envelope(("p", "v"), T_BASE, T_BASE + 2e-3, 1000)
    assert env.is_raw
    env.ymin[:] = 99
    env.x[:] = 0
    again = store.envelope(("p", "v"), T_BASE, T_BASE + 2e-3, 1000)
    assert list(again.ymin) == [1.0, 2.0] and again.x[0] == T_BASE


def test_zoomed_in_with_many_samples_gives_exact_columns():
    rng = np.random.default_rng(1)
    rate = 10_000_000.0  # 10 MHz: 0.1 us apart, more samples than columns even at 60 us
    n = 200_000
    t = T_BASE + 0.37 + np.arange(n) / rate
    v = rng.normal(size=n)
    store = small_store(raw_capacity=1 << 18)
    chunks = [regular("v", v[i : i + 10_000], t[i], 1 / rate) for i in range(0, n, 10_000)]
    for chunk in chunks:
        store.append("p", chunk)
    t = np.concatenate([c.timestamps for c in chunks])  # epoch times round to ~0.24 us
    for start, span, cols in [(0.005, 0.01, 1000), (0.0123456, 0.001, 300), (0.0, 0.02, 2000)]:
        t0 = T_BASE + 0.37 + start
        env = store.envelope(("p", "v"), t0, t0 + span, cols)
        assert not env.is_raw
        # raw columns are a power of two no wider than asked: up to twice the columns
        check_envelope((env.x, env.ymin, env.ymax), t, v, t0, t0 + span, cols, span / cols / 2)


def test_zoomed_out_uses_the_pyramid_with_exact_columns():
    rng = np.random.default_rng(2)
    n = 100_000
    t = T_BASE + np.sort(rng.uniform(0, 60, n))
    v = rng.normal(size=n)
    v[::997] *= 50  # spikes
    store = small_store(raw_capacity=1 << 12, bucket_capacity=1 << 14)
    for i in range(0, n, 777):
        store.append("p", explicit("v", v[i : i + 777], t[i : i + 777]))
    for t0, t1, cols in [(T_BASE, T_BASE + 60, 1000), (T_BASE + 13.3, T_BASE + 43.1, 700)]:
        env = store.envelope(("p", "v"), t0, t1, cols)
        assert not env.is_raw
        check_envelope((env.x, env.ymin, env.ymax), t, v, t0, t1, cols)
    env = store.envelope(("p", "v"), T_BASE, T_BASE + 60, 1000)
    assert env.ymin.min() == v.min() and env.ymax.max() == v.max()


def test_zoomed_in_on_forgotten_raw_data_falls_back_to_the_pyramid():
    rng = np.random.default_rng(3)
    rate = 1_000_000.0
    n = 100_000
    t = T_BASE + np.arange(n) / rate
    v = rng.normal(size=n)
    store = small_store(raw_capacity=1000, bucket_capacity=1 << 12)
    for i in range(0, n, 1000):
        store.append("p", regular("v", v[i : i + 1000], t[i], 1 / rate))
    t0 = T_BASE + 0.01  # long gone from the 1000-sample raw ring
    env = store.envelope(("p", "v"), t0, t0 + 0.01, 1000)
    assert not env.is_raw
    check_envelope((env.x, env.ymin, env.ymax), t, v, t0, t0 + 0.01, 1000)
    assert np.diff(env.x).min() >= bucket_width(0)


def test_nan_values_in_raw_and_decimated_views():
    rate = 1_000_000.0
    n = 50_000
    t = T_BASE + np.arange(n) / rate
    v = np.cos(np.arange(n) / 100)
    v[::3] = np.nan
    v[20_000:30_000] = np.nan
    store = small_store(raw_capacity=1 << 16, bucket_capacity=1 << 14)
    store.append("p", regular("v", v, t[0], 1 / rate))
    t = T_BASE + np.arange(n) / rate
    for t0, t1, cols in [(t[0], t[-1], 500), (t[15_000], t[35_000], 2000)]:
        env = store.envelope(("p", "v"), t0, t1, cols)
        check_envelope((env.x, env.ymin, env.ymax), t, v, t0, t1, cols, (t1 - t0) / cols / 2)
    raw = store.envelope(("p", "v"), t[25_000], t[25_010], 100)
    assert raw.is_raw and np.isnan(raw.ymin[1:-1]).all()


@pytest.mark.parametrize(
    ("t0", "t1", "columns"),
    [(5.0, 5.0, 100), (5.0, 4.0, 100), (5.0, 6.0, 0), (-1e3, -1e2, 10), (1e3, 2e3, 10)],
)
def test_degenerate_ranges_do_not_crash(t0, t1, columns):
    store = small_store()
    t = T_BASE + np.linspace(0, 10, 10_000)
    store.append("p", explicit("v", np.arange(10_000.0), t))
    env = store.envelope(("p", "v"), T_BASE + t0, T_BASE + t1, columns)
    assert len(env.x) == len(env.ymin) == len(env.ymax)


# -- the memory budget ----------------------------------------------------------------------------


def test_series_cost_is_what_a_series_really_takes():
    store = small_store()
    store.append("p", regular("v", [1.0], T_BASE, 1.0))
    assert store.nbytes == store.series_cost
    assert store.buffer(("p", "v")).nbytes == store.series_cost


def test_a_series_that_does_not_fit_is_refused():
    probe = small_store()
    budget = 3 * probe.series_cost + probe.series_cost // 2  # room for three, not four
    store = small_store(budget_bytes=budget)
    accepted = [store.append("p", regular(f"s{i}", [1.0, 2.0], T_BASE, 1.0)) for i in range(5)]
    assert accepted == [True, True, True, False, False]
    assert set(store.refused) == {("p", "s3"), ("p", "s4")}
    assert store.refusal(("p", "s3")) == f"memory budget full: {budget / 2**20:.2g} MB in 3 series"
    assert store.refusal(("p", "s0")) is None
    assert store.nbytes <= budget
    assert len(store.series_keys()) == 3
    # the series already stored keep working; the refused ones stay refused
    assert store.append("p", regular("s0", [3.0], T_BASE + 2, 1.0))
    assert not store.append("p", regular("s3", [3.0], T_BASE + 2, 1.0))
    assert store.stats(("p", "s0"))[0] == 3
    assert store.nbytes <= budget
    assert store.usage_text().endswith("in 3 series; 2 refused (memory budget full)")


def test_budget_smaller_than_one_series_refuses_everything():
    store = small_store(budget_bytes=1000)
    assert not store.append("p", regular("v", [1.0], T_BASE, 1.0))
    assert store.nbytes == 0 and store.series_keys() == []


def test_memory_stays_within_budget_whatever_the_data():
    """Real allocations, not just the bookkeeping: series at many rates grow, the budget fills,
    late ones get their minimum until even that does not fit."""
    budget = 2 << 20
    tracemalloc.start()
    try:
        store = SeriesStore(budget_bytes=budget)
        before = tracemalloc.get_traced_memory()[0]
        rng = np.random.default_rng(4)
        for batch in range(8):
            for s in range(600):
                rate = [10.0, 1e3, 1e5][s % 3]
                n = int(rate * 0.5)
                t0 = T_BASE + batch * 0.5
                store.append("p", regular(f"s{s}", rng.normal(size=n), t0, 0.5 / n))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert store.refused and len(store.series_keys()) + len(store.refused) == 600
    assert store.nbytes == sum(store.buffer(k).nbytes for k in store.series_keys())
    assert budget - store.series_cost < store.nbytes <= budget
    assert held <= budget * 1.1


def test_concurrent_writer_and_reader():
    """The consumer thread appends while the chart reads: no errors, nothing lost."""
    store = small_store(raw_capacity=1 << 16)
    errors: list[BaseException] = []
    done = threading.Event()
    rate, n, per = 100_000.0, 50_000, 500

    def writer():
        try:
            for i in range(0, n, per):
                store.append(
                    "p",
                    regular("v", np.arange(i, i + per, dtype=float), T_BASE + i / rate, 1 / rate),
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    while not done.is_set() or reads == 0:
        if store.series_keys():
            env = store.envelope(("p", "v"), T_BASE, T_BASE + 1, 500)
            assert len(env.x) == len(env.ymin)
            reads += 1
    thread.join()
    assert not errors
    _, values = raw_ring(store, ("p", "v"))  # grown to 0.125 s at 100 kHz, then the newest
    assert len(values) == 1 << 14
    np.testing.assert_array_equal(values, np.arange(float(n))[-len(values) :])
    assert store.stats(("p", "v"))[0] == n
