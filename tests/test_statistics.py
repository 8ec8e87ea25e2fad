"""app.core.statistics: the statistics table's figures equal numpy's over the same samples.

"The same samples": where the store's raw ring holds the range's edges, the samples with
t0 <= time <= t1; where an edge lies in history kept only as pyramid buckets, the figures say
what they cover (`start`..`end`, the edge's bucket counted whole) and numpy is asked about
exactly those samples. Equal means equal up to the order of the additions: counts, min, max
and last exactly; mean, RMS and std to 1e-9 (the mean absolutely to 1e-12 of the values'
size, since the mean of a sine over whole periods is a rounding error whatever the order).
"""

from __future__ import annotations

import math

import hypothesis
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.range_moments import raw_holds_from
from app.core.statistics import SeriesStats, StatsRequest, compute, series_stats
from app.core.store import SeriesStore
from producers.wire import Chunk

T_BASE = 1_700_000_000.0
KEY = ("p", "v")


def feed(store: SeriesStore, t: np.ndarray, v: np.ndarray, sizes) -> None:
    pos = 0
    for size in sizes:
        chunk = Chunk("v", v[pos : pos + size], explicit_times=t[pos : pos + size])
        store.append("p", chunk)
        pos += size


def numpy_stats(t: np.ndarray, v: np.ndarray, start: float, end: float) -> dict:
    """What numpy says of the samples with start <= t <= end (t in time order)."""
    inside = (t >= start) & (t <= end)
    x, tx = v[inside], t[inside]
    ok = ~np.isnan(x)
    x, tx = x[ok], tx[ok]
    if not len(x):
        return {"count": 0}
    return {
        "count": len(x),
        "min": np.nanmin(x),
        "max": np.nanmax(x),
        "mean": np.mean(x),
        "rms": math.sqrt(np.mean(x * x)),
        "std": np.std(x),
        "last": x[-1],
        "rate": (len(x) - 1) / (tx[-1] - tx[0]) if len(x) > 1 and tx[-1] > tx[0] else 0.0,
        "scale": float(np.max(np.abs(x))),
    }


def assert_equal_numpy(got: SeriesStats, want: dict, exact_edges: bool) -> None:
    """`exact_edges`: the range's first and last samples are known one by one (not only as
    buckets), so the last value and the rate are numpy's too."""
    assert got.count == want["count"]
    if not want["count"]:
        assert got.rate == 0 and all(
            math.isnan(x) for x in (got.min, got.max, got.mean, got.rms, got.std, got.last)
        )
        return
    assert (got.min, got.max) == (want["min"], want["max"])
    scale = want["scale"]
    np.testing.assert_allclose(got.mean, want["mean"], rtol=1e-9, atol=1e-12 * scale)
    np.testing.assert_allclose(got.rms, want["rms"], rtol=1e-9)
    np.testing.assert_allclose(got.std, want["std"], rtol=1e-9, atol=1e-12 * scale)
    if exact_edges:  # the newest sample's value, and its time, are known
        assert got.last == want["last"]
        np.testing.assert_allclose(got.rate, want["rate"], rtol=1e-9)


@hypothesis.settings(max_examples=50, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    gap=st.sampled_from([3e-6, 1e-4, 2e-3, 0.05, 1.0]),
    batch=st.sampled_from([1, 7, 40, 500, 5000]),
    offset=st.sampled_from([0.0, 1e3, -2e5]),
    nan=st.sampled_from([0.0, 0.05, 0.5]),
    raw=st.sampled_from([256, 1 << 12]),
    buckets=st.sampled_from([64, 8192]),
)
def test_statistics_equal_numpy_on_the_samples_they_cover(
    seed, gap, batch, offset, nan, raw, buckets
):
    """Series of any rate in chunks of any size, NaN among the values, pauses (a stopped
    producer), a raw ring that forgot most of them and levels that forgot some: over ranges
    inside the ring, across its start, wholly before it (buckets only), past every sample and
    before them all."""
    rng = np.random.default_rng(seed)
    n = 6000
    steps = rng.exponential(gap, n) * rng.choice([1, 1, 1, 30], n)  # irregular
    steps[rng.random(n) < 5e-4] = 500 * gap + 1.0  # a pause now and then
    t = T_BASE + np.cumsum(steps)
    v = offset + np.cumsum(rng.normal(size=n))  # a random walk: means drift, spreads vary
    v[rng.random(n) < nan] = np.nan
    store = SeriesStore(raw_capacity=raw, bucket_capacity=buckets)
    sizes, left = [], n
    while left:
        sizes.append(min(int(rng.integers(1, batch + 1)), left))
        left -= sizes[-1]
    feed(store, t, v, sizes)
    buf = store.buffer(KEY)
    raw_from = raw_holds_from(buf.raw)
    first, last = t[0], t[-1]
    ranges = [
        (max(raw_from, first), last),  # what the ring holds
        (last - (last - first) * rng.random(), last - (last - first) * rng.random() * 0.1),
        (first, last),  # everything
        (first - 100, first + (last - first) * rng.random()),  # from before the first
        (last + 1, last + 2),  # after every sample: empty
        (first - 10, first - 1),  # before every sample: empty
    ]
    if raw_from > first:  # wholly in history the ring forgot: buckets only
        ranges.append((first + (raw_from - first) * 0.2, first + (raw_from - first) * 0.7))
    for t0, t1 in ranges:
        t0, t1 = min(t0, t1), max(t0, t1)
        got = series_stats(store, [KEY], t0, t1)[KEY]
        assert got.complete
        inside_ring = t0 >= raw_from
        if inside_ring:
            assert got.exact and (got.start, got.end) == (t0, t1)
        held = (t >= got.start) & (t <= got.end)
        if t0 >= first:  # an edge in history is counted with its whole bucket, no less
            assert got.start <= t0 and got.end >= t1
        want = numpy_stats(t, v, got.start, got.end)
        # before the first sample, the first is known (if it is a value: its time is kept)
        known_first = t0 >= raw_from or (t0 <= first and not np.isnan(v[0]))
        known_last = got.end == t1 and t1 >= raw_from
        assert_equal_numpy(got, want, exact_edges=known_first and known_last and held.any())


def test_a_ring_holding_the_range_gives_numpy_s_figures_exactly_where_it_can():
    """The common case (a live window the ring holds): each figure as numpy computes it."""
    store = SeriesStore()
    t = T_BASE + np.arange(2000) / 200.0  # 10 s at 200/s, as 10 ms chunks: the ring holds all
    v = np.sin(2 * np.pi * 0.7 * (t - T_BASE)) * 3 + 1
    v[::97] = np.nan
    feed(store, t, v, [2] * 1000)
    t0, t1 = t[500] + 1e-4, t[1900]
    got = series_stats(store, [KEY], t0, t1)[KEY]
    x = v[501:1901]
    assert got.exact and got.complete and (got.start, got.end) == (t0, t1)
    assert got.count == np.count_nonzero(~np.isnan(x)) == 1400 - 14
    assert (got.min, got.max, got.last) == (np.nanmin(x), np.nanmax(x), x[-1])
    np.testing.assert_allclose(
        [got.mean, got.rms, got.std],
        [np.nanmean(x), math.sqrt(np.nanmean(x * x)), np.nanstd(x)],
        rtol=1e-12,
    )
    ok = ~np.isnan(x)
    tx = t[501:1901][ok]
    assert got.rate == pytest.approx((ok.sum() - 1) / (tx[-1] - tx[0]), rel=1e-12)


def test_history_older_than_the_ring_comes_from_buckets_at_the_cost_of_a_frame():
    """An hour at 1 kHz: the ring keeps the last 2 s, yet the hour's figures are numpy's over
    the samples the buckets cover (3.6 M samples, which the store no longer has one by one)."""
    store = SeriesStore()
    rate, n = 1000.0, 3_600_000
    t = T_BASE + np.arange(n) / rate
    rng = np.random.default_rng(5)
    v = 20 + np.cumsum(rng.normal(size=n)) * 0.01
    for i in range(0, n, 100_000):
        store.append("p", Chunk("v", v[i : i + 100_000], t0=t[i], dt=1 / rate))
    buf = store.buffer(KEY)
    assert raw_holds_from(buf.raw) > t[-1] - 10  # the samples themselves are gone
    for t0, t1 in [(t[0], t[-1]), (t[0] + 1234.5678, t[-1] - 0.5), (t[1000], t[2_000_000])]:
        got = series_stats(store, [KEY], t0, t1)[KEY]
        assert got.start <= t0 and got.end >= t1 and got.complete
        assert got.start > t0 - 5 and got.end < t1 + 5  # edges: a bucket of seconds at most
        assert_equal_numpy(got, numpy_stats(t, v, got.start, got.end), exact_edges=False)


def test_empty_nan_only_infinite_and_unknown():
    store = SeriesStore()
    t = T_BASE + np.arange(10.0)
    v = np.array([np.nan] * 5 + [1.0, np.inf, 2.0, np.nan, 3.0])
    feed(store, t, v, [10])
    stats = series_stats(store, [KEY, ("p", "none")], t[0], t[4])
    assert stats[KEY].count == 0 and math.isnan(stats[KEY].mean) and stats[KEY].rate == 0
    assert stats[("p", "none")] == SeriesStats()
    got = series_stats(store, [KEY], t[0], t[-1])[KEY]
    assert got.count == 4 and got.max == math.inf and got.rms == math.inf
    assert got.mean == math.inf and math.isnan(got.std)  # as numpy: mean inf, std nan
    assert got.last == 3.0
    got = series_stats(store, [KEY], t[-1], t[0])[KEY]  # reversed: nothing
    assert got.count == 0
    got = series_stats(store, [KEY], -math.inf, math.inf)[KEY]  # everything
    assert got.count == 4 and got.min == 1.0


def test_compute_answers_a_request_and_says_where_it_ran():
    import threading

    store = SeriesStore()
    feed(store, T_BASE + np.arange(5.0), np.arange(5.0), [5])
    request = StatsRequest(T_BASE, T_BASE + 4, (KEY,))
    result = compute(store, request)
    assert result.request is request and result.thread == threading.get_ident()
    assert result.stats[KEY].count == 5 and result.stats[KEY].mean == 2.0
    assert result.stats[KEY].rate == 1.0 and result.cost_s >= 0
