"""app.core.store: per-series buffers inside a memory budget; what the chart draws is exact."""

from __future__ import annotations

import math
import threading
import tracemalloc

import hypothesis
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.pyramid import CORE_SPAN, LEVELS, Pyramid, bucket_width, column_width
from app.core.store import (
    COMFORT,
    OBJECT_BYTES,
    RAW_SAMPLES,
    RESERVE,
    SMALL,
    Envelope,
    SeriesBuffer,
    SeriesStore,
)
from app.core.strip_grid import envelope_line
from producers.wire import Chunk
from tests.envelope_oracle import check_envelope
from tests.test_pyramid import assert_same_state, pyramid_state

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
        for batch in range(4):
            for s in range(400):
                rate = [10.0, 1e3, 1e5][s % 3]
                n = int(rate * 0.5)
                t0 = T_BASE + batch * 0.5
                store.append("p", regular(f"s{s}", rng.normal(size=n), t0, 0.5 / n))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert store.refused and len(store.series_keys()) + len(store.refused) == 400
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


# -- sized by rate ------------------------------------------------------------------------------


def feed_rate(store: SeriesStore, key, rate: float, seconds: float, chunk_s: float, start=T_BASE):
    """Regular chunks of `chunk_s` seconds at `rate` Hz, in simulated time; returns (t, v)."""
    n = max(round(rate * chunk_s), 1)
    values = np.sin(np.arange(int(seconds * rate)) * 0.01) * 10
    for i in range(0, len(values), n):
        store.append(key[0], regular(key[1], values[i : i + n], start + i / rate, 1 / rate))
    return start + np.arange(len(values)) / rate, values


def arrays_of(buf) -> list[np.ndarray]:
    return [*buf.raw.columns, *(c for level in buf.pyramid.levels for c in level.rows.columns)]


@pytest.mark.parametrize(
    ("rate", "seconds", "base", "raw", "most", "kib"),
    [  # most: the largest level, in buckets; kib: bytes at most (a bucket: 48 bytes)
        (1.0, 600, 8, 1024, 256, 64),  # levels 0..7 hold <= 1 sample a bucket: not fed
        (100.0, 60, 4, 2048, 4096, 400),
        (10_000.0, 10, 1, 2048, 8192, 2048),
        (1_250_000.0, 0.5, 0, 1 << 18, 8192, 10_000),  # as before sizing by rate
    ],
)
def test_each_series_grows_by_its_rate(rate, seconds, base, raw, most, kib):
    store = SeriesStore()
    feed_rate(store, ("p", "v"), rate, seconds, chunk_s=0.01 if rate > 1 else 10)
    buf = store.buffer(("p", "v"))
    buf.pyramid.sync()
    caps = [level.rows.capacity for level in buf.pyramid.levels]
    assert (buf.pyramid.base, buf.raw.capacity, max(caps)) == (base, raw, most)
    assert all(len(level.rows) == 0 for level in buf.pyramid.levels[:base])
    assert min(caps) == 8 and buf.denied == 0
    assert store.nbytes == buf.nbytes < kib << 10


def test_a_thousand_slow_series_fit_with_their_views_at_full_resolution():
    """1,000 series at 100 samples/s for 3 minutes: none refused, none kept short; a live 30 s
    window and the whole 3 minutes are drawn at the column width asked for. (10 minutes while
    buckets held min/max only; their count, sum and M2 for statistics doubled them.)"""
    store = SeriesStore(budget_bytes=512 << 20)
    rate, n = 100.0, 2000  # chunks of 20 s: growth as in real time, in fewer appends
    values = np.sin(np.arange(n) * 0.01)
    for step in range(9):
        for s in range(1000):
            store.append("p", regular(f"s{s}", values, T_BASE + 20 * step, 1 / rate))
    now = T_BASE + 180 - 1 / rate
    for s in range(0, 1000, 97):
        for span in (30, 180):
            env = store.envelope(("p", f"s{s}"), now - span, now, 1280)
            assert env.width == column_width(span / 1280)
    assert not store.refused and len(store.series_keys()) == 1000
    assert all(store.buffer(k).denied == 0 for k in store.series_keys())
    assert store.nbytes < 448 << 20  # 7/8 of the budget: where growth for views stops
    assert store.usage_text().startswith("4") and store.usage_text().endswith("1,000 series")


def test_nbytes_is_what_is_allocated():
    store = SeriesStore(budget_bytes=4 << 20)  # tight: growth, refusals, taking from finer parts
    for s, rate in enumerate([1e5, 1e3, 100.0, 10.0, 2.0] * 8):
        feed_rate(store, ("p", f"s{s}"), rate, 10, chunk_s=0.5)
    keys = store.series_keys()
    for key in keys:
        buf = store.buffer(key)
        assert buf.array_bytes == sum(a.nbytes for a in arrays_of(buf))
        assert buf.nbytes == buf.array_bytes + OBJECT_BYTES
    assert store.nbytes == sum(store.buffer(k).nbytes for k in keys) <= store.budget_bytes


def test_object_bytes_is_honest():
    """What new series really take (tracemalloc) is what nbytes says, within 10 %."""
    store = SeriesStore()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for s in range(300):
            store.append("p", regular(f"s{s}", [1.0, 2.0], T_BASE, 1.0))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert store.nbytes * 0.9 < held < store.nbytes * 1.1


@pytest.mark.parametrize("gap", [2e-6, 1e-3, 0.5])
def test_growth_never_loses_a_bucket_a_view_needs(gap):
    """With room to grow, every level fed keeps every bucket within CORE_SPAN of its newest,
    bucket for bucket what a pyramid of fixed maximal size holds."""
    rng = np.random.default_rng(5)
    n = 200_000 if gap < 1e-3 else 20_000
    t = T_BASE + np.cumsum(rng.exponential(gap, n))
    v = rng.normal(size=n)
    store, reference = SeriesStore(), Pyramid(8192)
    for i in range(0, n, 997):
        store.append("p", explicit("v", v[i : i + 997], t[i : i + 997]))
        reference.append(t[i : i + 997], v[i : i + 997])
        if i % (997 * 20) == 0 or i + 997 >= n:
            p = store.buffer(("p", "v")).pyramid
            p.sync()
            reference.sync()
            for k in range(p.base, LEVELS):
                got, want = p.levels[k].rows, reference.levels[k].rows
                lo = int(want.held(0)[-1]) - CORE_SPAN + 1
                for c in range(3):
                    mine = got.held(c)[got.held(0) >= lo]
                    np.testing.assert_array_equal(mine, want.held(c)[want.held(0) >= lo])


# -- the budget ---------------------------------------------------------------------------------


def test_growth_leaves_room_for_series_that_come_later():
    store = SeriesStore(budget_bytes=16 << 20)
    feed_rate(store, ("p", "fast"), 1.25e6, 1.0, 0.01)  # wants ~10 MB, may grow to 14
    assert store.nbytes <= store.budget_bytes * (1 - RESERVE)
    n = 0
    while store.append("p", regular(f"late{n}", [1.0], T_BASE, 1.0)):
        n += 1
    assert n > 100  # all minimums: the last eighth was kept for them
    assert store.refusal(("p", f"late{n}")) == f"memory budget full: 16 MB in {n + 1:,} series"
    assert store.nbytes <= store.budget_bytes


def test_growth_to_the_full_span_only_while_memory_is_plenty():
    roomy, tight = SeriesStore(), SeriesStore(budget_bytes=600 << 10)
    for store in (roomy, tight):
        feed_rate(store, ("p", "v"), 1000.0, 20, 0.1)  # level 3 (3.9 ms): 5120 buckets
    assert roomy.buffer(("p", "v")).pyramid.levels[3].rows.capacity == 8192
    tight_level = tight.buffer(("p", "v")).pyramid.levels[3]
    assert tight_level.rows.capacity == CORE_SPAN and tight.nbytes > tight.budget_bytes * COMFORT
    assert tight.buffer(("p", "v")).denied == 0  # the core span is all a view needs


def test_a_full_budget_takes_from_finer_parts_of_the_same_series():
    """History before detail: 40 series at 100 Hz for 20 minutes in ~2/3 of what they would
    take. Coarse levels that must grow take memory from their own raw ring and finer levels
    (not below 2048 buckets): the 20 minutes and a live 30 s window stay at full resolution."""
    store = SeriesStore()
    budget = int(40 * (660 << 10) / (1 - RESERVE)) + 40 * store.series_cost
    store = SeriesStore(budget_bytes=budget)
    keys = [("p", f"s{s}") for s in range(40)]
    for minute in range(20):
        for key in keys:
            feed_rate(store, key, 100.0, 60, 60, start=T_BASE + 60 * minute)
    now = T_BASE + 1200 - 0.01
    for span in (1200, 30):
        env = store.envelope(keys[0], now - span, now, 1280)
        assert env.width == column_width(span / 1280)
    buf = store.buffer(keys[0])
    assert buf.raw.capacity < RAW_SAMPLES and buf.pyramid.levels[4].rows.capacity == 2048
    assert store.nbytes <= budget and not store.refused
    assert "kept short by the budget" in store.usage_text()


# -- the raw ring draws what levels that are not fed would ---------------------------------------


def test_a_slow_series_draws_its_fine_views_from_the_raw_ring():
    store = SeriesStore()
    t, v = feed_rate(store, ("p", "cpu"), 2.0, 600, 5.0)
    buf = store.buffer(("p", "cpu"))
    assert buf.pyramid.base == 7 and buf.nbytes < 128 << 10
    for span in (600, 60):  # levels 6 and 4: not fed, the raw ring holds their samples
        now = t[-1]
        env = store.envelope(("p", "cpu"), now - span, now, 1280)
        assert env.width == column_width(span / 1280) and not env.is_raw
        check_envelope((env.x, env.ymin, env.ymax), t, v, now - span, now, 1280)


def test_after_an_out_of_order_chunk_raw_reads_wait_until_it_is_gone():
    store = SeriesStore(raw_capacity=256)
    t, v = feed_rate(store, ("p", "v"), 100.0, 10, 0.1)
    store.append("p", explicit("v", [50.0], [t[-1] - 0.05]))  # late
    t0 = t[-1] - 5
    env = store.envelope(("p", "v"), t0, t[-1], 1280)  # level 2 (not fed): raw cannot serve
    assert env.width > column_width(5 / 1280)  # a coarser level, still exact
    counted = np.append(t, t[-1])
    check_envelope((env.x, env.ymin, env.ymax), counted, np.append(v, 50.0), t0, t[-1], 1280)
    t2, _ = feed_rate(store, ("p", "v"), 100.0, 3, 0.1, start=t[-1] + 0.01)  # ring turns over
    env = store.envelope(("p", "v"), t2[-1] - 2, t2[-1], 1280)
    assert env.width == column_width(2 / 1280)


def shared_budget_case(seed: int, gaps: list[float], budget_kib: int, batch: int) -> None:
    """Series at different rates share a budget (tight ones refuse growth and take from finer
    parts); some chunks arrive late. Every envelope is exact for what is still held."""
    rng = np.random.default_rng(seed)
    store = SeriesStore(budget_bytes=budget_kib << 10)
    data = {}
    n = 2000
    for s, gap in enumerate(gaps):
        t = T_BASE + np.cumsum(rng.exponential(gap, n))
        late = rng.random(n) < 0.005
        t[late] -= rng.exponential(5 * gap, int(late.sum()))
        data[("p", f"s{s}")] = (t, rng.normal(size=n))
    for i in range(0, n, batch):
        for key, (t, v) in data.items():
            store.append("p", explicit(key[1], v[i : i + batch], t[i : i + batch]))
        if i % (7 * batch):
            continue
        for key, (t, v) in data.items():
            if key not in store.series_keys():
                continue
            end = min(i + batch, n)
            counted = np.maximum.accumulate(t[:end])
            buf = store.buffer(key)
            buf.pyramid.sync()
            top = buf.pyramid.levels[-1].rows
            oldest = (top.held(0)[0] + 1) * bucket_width(LEVELS - 1) if top.wrapped else 0.0
            t1 = counted[-1]
            for span, cols in ((t1 - T_BASE, 300), (rng.uniform(1e-4, 30), 1000)):
                t0 = max(t1 - span, oldest)
                env = store.envelope(key, t0, t1, cols)
                if env.is_raw:  # a run of the samples as appended (times may repeat)
                    k = len(env.x)
                    assert any(
                        np.array_equal(t[j : j + k], env.x)
                        and np.array_equal(v[j : j + k], env.ymin)
                        for j in np.flatnonzero(t[:end] == env.x[0])
                    )
                elif len(env.x) >= 4 and np.diff(env.x).min() == env.width:
                    got = (env.x, env.ymin, env.ymax)
                    check_envelope(got, counted, v[:end], t0, t1, cols, (t1 - t0) / cols / 2)
    assert store.nbytes <= store.budget_bytes


@hypothesis.settings(max_examples=15, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    gaps=st.lists(st.sampled_from([1e-6, 1e-4, 3e-3, 0.4]), min_size=1, max_size=3),
    budget_kib=st.sampled_from([120, 400, 1 << 19]),
    batch=st.sampled_from([1, 30, 2000]),
)
def test_envelopes_are_exact_however_series_grew_or_forgot(seed, gaps, budget_kib, batch):
    shared_budget_case(seed, gaps, budget_kib, batch)


# -- small chunks: the scalar way stores what numpy stores ---------------------------------------


def limited(kib: int):
    """A budget of its own for one series: growth granted while it fits."""
    used = [0]

    def take(extra: int, needed: bool) -> bool:
        if extra > 0 and used[0] + extra > kib << 10:
            return False
        used[0] += extra
        return True

    return take


def buffer_state(buf: SeriesBuffer) -> list:
    raw = buf.raw
    state = [raw.held(0).copy(), raw.held(1).copy(), raw.total, raw.capacity, raw.wrapped]
    state += [raw.in_order_from, buf.count, buf.late, buf.denied, buf.last_time, buf.nbytes]
    return [*state, np.array(buf.last_value), *pyramid_state(buf.pyramid)]


@hypothesis.settings(max_examples=25, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rate=st.sampled_from([1e5, 1e3, 100.0, 2.0]),
    batch=st.integers(1, SMALL + 4),
    kib=st.sampled_from([24, 120, 1 << 19]),
    explicit_times=st.booleans(),
)
def test_small_chunks_store_what_the_numpy_way_stores(seed, rate, batch, kib, explicit_times):
    """Chunks of 1 to SMALL samples (regular or timed, some late, some NaN, straddling buckets
    and levels) leave a series exactly as the numpy way does: raw ring, every level, counts,
    growth granted or refused within a budget; so every envelope is the same."""
    rng = np.random.default_rng(seed)
    numpy_way = SeriesBuffer(budget=limited(kib), small=0)
    scalar_way = SeriesBuffer(budget=limited(kib))
    t = T_BASE + rng.random()
    for i in range(400):
        n = int(rng.integers(1, batch + 1))
        v = rng.normal(size=n)
        v[rng.random(n) < 0.1] = np.nan
        if explicit_times:
            times = t + np.cumsum(rng.exponential(1 / rate, n))
            if rng.random() < 0.05:
                times -= rng.exponential(20 / rate)  # late
            chunk = explicit("v", v, times)
        else:
            chunk = regular("v", v, t - (rng.random() < 0.05) * 10 / rate, 1 / rate)
        numpy_way.append(chunk)
        scalar_way.append(chunk)
        t += n / rate
        if i % 50 == 49:
            for span, columns in ((30 / rate, 1000), (3000 / rate, 500), (1e5 / rate, 300)):
                want = numpy_way.envelope(t - span, t, columns)
                got = scalar_way.envelope(t - span, t, columns)
                np.testing.assert_array_equal(got.x, want.x)
                np.testing.assert_array_equal(got.ymin, want.ymin)
                np.testing.assert_array_equal(got.ymax, want.ymax)
            assert_same_state(buffer_state(scalar_way), buffer_state(numpy_way))
    assert_same_state(buffer_state(scalar_way), buffer_state(numpy_way))


@pytest.mark.parametrize("batch", [1, 5, 20])
def test_small_chunks_with_late_and_nan_samples_draw_exact_envelopes(batch):
    rng = np.random.default_rng(batch)
    store = SeriesStore(budget_bytes=1 << 20)
    n = 4000
    t = T_BASE + np.cumsum(rng.exponential(2e-3, n))
    t[rng.random(n) < 0.01] -= 0.05
    v = rng.normal(size=n)
    v[rng.random(n) < 0.05] = np.nan
    for i in range(0, n, batch):
        store.append("p", explicit("v", v[i : i + batch], t[i : i + batch]))
    counted = np.maximum.accumulate(t)
    t1 = counted[-1]
    for span, columns in ((0.5, 1280), (5.0, 1280), (t1 - T_BASE, 200)):
        env = store.envelope(("p", "v"), t1 - span, t1, columns)
        check_envelope((env.x, env.ymin, env.ymax), counted, v, t1 - span, t1, columns)
    assert store.stats(("p", "v"))[1] == int(np.count_nonzero(counted != t))


# -- a producer's new run ------------------------------------------------------------------------


def test_a_new_run_older_than_the_series_starts_it_afresh():
    """A second replay (or a restart whose data has its own, older times): without `new_run`
    every sample would be late; with it the series holds the new run only, none late, and the
    budget counts the new buffer instead of the old one."""
    store = SeriesStore(budget_bytes=64 << 20)
    feed_rate(store, ("p", "v"), 1000.0, 20, chunk_s=0.5)  # grows past its first size
    store.append("p", regular("w", [1.0, 2.0], T_BASE, 1.0))
    store.append("q", regular("v", [1.0, 2.0], T_BASE, 1.0))
    before = store.buffer(("p", "v"))
    assert store.nbytes == sum(store.buffer(k).nbytes for k in store.series_keys())
    store.new_run("p")
    store.append("p", regular("v", np.arange(50.0), T_BASE - 100, 0.01))
    store.append("p", regular("v", np.arange(50.0), T_BASE - 99.5, 0.01))
    assert store.buffer(("p", "v")) is not before
    assert store.stats(("p", "v")) == (100, 0)
    assert store.latest(("p", "v")) == (T_BASE - 99.5 + 49 * 0.01, 49.0)
    assert store.stats(("p", "w")) == (2, 0)  # not sent by the new run (yet): kept
    assert store.stats(("q", "v")) == (2, 0)  # another producer: untouched
    assert store.nbytes == sum(store.buffer(k).nbytes for k in store.series_keys())
    assert store.restarted == 1
    env = store.envelope(("p", "v"), T_BASE - 101, T_BASE - 98, 300)
    assert env.ymax.max() == 49.0 and env.x.max() < T_BASE - 98


def test_a_new_run_newer_than_the_series_keeps_its_history():
    store = small_store()
    store.append("p", regular("v", [1.0, 2.0, 3.0], T_BASE, 1.0))
    before = store.buffer(("p", "v"))
    store.new_run("p")
    store.append("p", regular("v", [4.0, 5.0], T_BASE + 10, 1.0))
    assert store.buffer(("p", "v")) is before and store.stats(("p", "v")) == (5, 0)
    assert store.restarted == 0 and not store._new_run  # looked at once: nothing pending
    # the stop between the runs is a gap, which the series' line is not drawn across
    env = store.envelope(("p", "v"), T_BASE - 1, T_BASE + 12, 1000)
    assert len(env.gaps) == 1 and T_BASE + 2 < env.gaps[0] < T_BASE + 10
    x, y = envelope_line(env)
    finite = ~np.isnan(y)
    assert sorted(set(y[finite].tolist())) == [1.0, 2.0, 3.0, 4.0, 5.0]
    (gap,) = np.flatnonzero(~finite)
    assert y[gap - 1] == 3.0 and y[gap + 1] == 4.0 and x[gap] == env.gaps[0]
    assert store.envelope(("p", "v"), T_BASE + 10, T_BASE + 12, 100).gaps == ()  # not in view


def test_only_a_runs_first_chunk_decides_and_without_a_new_run_old_samples_are_late():
    store = small_store()
    store.append("p", regular("v", [1.0, 2.0, 3.0], T_BASE, 1.0))
    store.append("p", regular("v", [9.0], T_BASE - 50, 1.0))  # the same run: late, as always
    assert store.stats(("p", "v")) == (4, 1)
    store.new_run("p")
    store.append("p", regular("v", [4.0], T_BASE + 5, 1.0))
    store.append("p", regular("v", [0.0], T_BASE - 50, 1.0))  # not the run's first: late
    assert store.stats(("p", "v")) == (6, 2) and store.restarted == 0


def test_the_pipeline_tells_the_store_where_a_new_run_begins():
    """One drain cycle holding the old run's last chunk, then the new run's first: the old
    one's goes to the old history, the new one starts the series afresh."""
    from app.core.channel import Batch, RunKey
    from app.core.counters import CounterBook
    from app.core.pipeline import Pipeline

    store = small_store()
    pipeline = Pipeline(store, CounterBook())
    old, new = RunKey("p", 1), RunKey("p", 2)
    first = Batch(chunks=[("p", regular("v", [1.0, 2.0], T_BASE, 1.0))], runs=[(0, old)])
    first.received = {old: 2}
    pipeline.process(first)
    mixed = Batch(
        chunks=[
            ("p", regular("v", [3.0], T_BASE + 2, 1.0)),  # the old run's last
            ("p", regular("v", [7.0, 8.0], T_BASE - 10, 1.0)),  # the new run, older times
        ],
        runs=[(0, old), (1, new)],
        received={old: 1, new: 2},
    )
    pipeline.process(mixed)
    assert store.stats(("p", "v")) == (2, 0)
    assert store.latest(("p", "v")) == (T_BASE - 9, 8.0)
    steady = Batch(chunks=[("p", regular("v", [9.0], T_BASE - 8, 1.0))], runs=[(0, new)])
    steady.received = {new: 1}
    pipeline.process(steady)
    assert store.stats(("p", "v")) == (3, 0) and not store._new_run
