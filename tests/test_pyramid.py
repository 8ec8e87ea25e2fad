"""app.core.pyramid: decimated min/max must be the TRUE min/max of every drawn column.

Every envelope is checked against a brute force over the samples (tests/envelope_oracle.py):
columns aligned to absolute time at multiples of their width, x the column centre.
"""

from __future__ import annotations

import hypothesis
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.moments import combine, group_buckets, group_samples, group_small
from app.core.pyramid import (
    CORE_SPAN,
    LEVELS,
    Pyramid,
    bucket_indices,
    bucket_width,
    group,
    levels_finer_than,
    run_starts,
    sample_columns,
)
from app.core.sliding import pow2
from tests.envelope_oracle import check_envelope, column_of

T_BASE = 1_700_000_000.0  # epoch seconds, as producers stamp them


def feed(pyramid: Pyramid, t: np.ndarray, v: np.ndarray, sizes, ordered=False) -> int:
    late = 0
    pos = 0
    for size in sizes:
        late += pyramid.append(t[pos : pos + size], v[pos : pos + size], ordered)
        pos += size
    assert pos == len(t)
    return late


def random_sizes(rng, n: int, high: int) -> list[int]:
    sizes = []
    while sum(sizes) < n:
        sizes.append(min(int(rng.integers(1, high)), n - sum(sizes)))
    return sizes


# -- building blocks -----------------------------------------------------------------------------


def test_bucket_widths_are_powers_of_four_apart():
    assert bucket_width(0) == 2.0**-14
    for k in range(1, LEVELS):
        assert bucket_width(k) == 4 * bucket_width(k - 1)
    assert 15 * 60 < bucket_width(LEVELS - 1) < 20 * 60  # the coarsest is ~17 minutes


def test_bucket_indices_are_exact_floors():
    rng = np.random.default_rng(0)
    t = T_BASE + rng.uniform(0, 1000, 10_000)
    t = np.concatenate([t, T_BASE + np.arange(100) * bucket_width(0)])  # exact boundaries
    for level in (0, 3, LEVELS - 1):
        got = bucket_indices(t, level)
        assert np.array_equal(got, column_of(t, bucket_width(level)))


@pytest.mark.parametrize("runs", ["short", "long"])
def test_group_is_min_max_per_run(runs):
    rng = np.random.default_rng(1)
    n = 5000
    span = 4000 if runs == "short" else 20  # few long runs take the searchsorted path
    idx = np.sort(rng.integers(0, span, n))
    mn = rng.normal(size=n)
    mx = mn + rng.random(n)
    mn[rng.random(n) < 0.1] = np.nan
    got_idx, got_mn, got_mx = group(idx, mn, mx)
    want = np.unique(idx)
    np.testing.assert_array_equal(got_idx, want)
    for i, k in enumerate(want):
        sel = idx == k
        np.testing.assert_array_equal(got_mn[i], np.fmin.reduce(mn[sel]))
        np.testing.assert_array_equal(got_mx[i], np.fmax.reduce(mx[sel]))


@hypothesis.settings(max_examples=100, deadline=None, database=None)
@given(
    runs=st.lists(
        st.lists(st.sampled_from([-1.5, -0.0, 0.0, 2.0, 7.25, np.nan]), min_size=1, max_size=4),
        min_size=1,
        max_size=10,
    )
)
def test_group_small_is_group(runs):
    idx = [i for i, run in enumerate(runs) for _ in run]
    values = [v for run in runs for v in run]
    got = group_small(idx, values)
    a = np.array(values)
    for mine, theirs in zip(got[:3], group(np.array(idx), a, a), strict=True):
        np.testing.assert_array_equal(np.array(mine, dtype=theirs.dtype), theirs)
    # count, sum and M2 as the numpy way computes them (M2: Welford here, two-pass there)
    for mine, theirs in zip(got, group_samples(np.array(idx), a), strict=True):
        np.testing.assert_allclose(np.array(mine, dtype=theirs.dtype), theirs, rtol=1e-12)


def test_group_single_run_and_single_value():
    idx, mn, mx = group(np.array([7, 7, 7]), np.array([3.0, 1.0, 2.0]), np.array([3.0, 1.0, 2.0]))
    assert (list(idx), list(mn), list(mx)) == ([7], [1.0], [3.0])
    idx, mn, mx = group(np.array([4]), np.array([5.0]), np.array([5.0]))
    assert (list(idx), list(mn), list(mx)) == ([4], [5.0], [5.0])


def test_run_starts_both_strategies_agree_with_brute_force():
    rng = np.random.default_rng(2)
    for _ in range(50):
        n = int(rng.integers(2, 3000))
        span = int(rng.choice([2, 5, 50, 5000]))
        idx = np.sort(rng.integers(0, span, n))
        idx[-1] = span  # at least two runs: group() handles a single run itself
        want = np.concatenate(([0], np.flatnonzero(np.diff(idx)) + 1))
        np.testing.assert_array_equal(run_starts(idx), want)


# -- envelope exactness --------------------------------------------------------------------------


def test_empty_pyramid_gives_an_empty_envelope():
    x, ymin, ymax = Pyramid(64).envelope(T_BASE, T_BASE + 10, 100)
    assert len(x) == len(ymin) == len(ymax) == 0


@pytest.mark.parametrize("seed", range(4))
def test_random_irregular_timestamps(seed):
    rng = np.random.default_rng(seed)
    n = 40_000
    t = T_BASE + np.sort(rng.uniform(0, 20, n))
    v = rng.normal(size=n) * rng.choice([1, 100], n)  # occasional spikes must survive
    p = Pyramid(1 << 16)
    assert feed(p, t, v, random_sizes(rng, n, 3000)) == 0
    for _ in range(10):
        t0 = T_BASE + rng.uniform(-1, 15)
        t1 = t0 + rng.choice([0.01, 0.3, 2.0, 7.0, 30.0])
        cols = int(rng.choice([100, 333, 1000, 1920]))
        if np.count_nonzero((t >= t0) & (t <= t1)) < 4 * cols:
            continue  # too sparse to tell the column width from the output
        check_envelope(p.envelope(t0, t1, cols), t, v, t0, t1, cols, max_width=2 * (t1 - t0) / cols)


def test_regular_high_rate_data_in_small_batches():
    rate = 1_000_000.0
    n = 2_000_000  # two seconds at 1 MHz, sent as 10 ms batches
    t = T_BASE + 0.123 + np.arange(n) / rate
    v = np.sin(np.arange(n) * 2e-4) + (np.arange(n) % 9973 == 0) * 5.0
    p = Pyramid(1 << 15)
    feed(p, t, v, [10_000] * (n // 10_000), ordered=True)
    for t0, t1, cols in [
        (T_BASE, T_BASE + 3, 1000),
        (t[0], t[-1], 1920),
        (T_BASE + 1.0001, T_BASE + 1.0301, 800),
        (T_BASE + 1.5, T_BASE + 1.5 + 0.2, 1000),
    ]:
        check_envelope(p.envelope(t0, t1, cols), t, v, t0, t1, cols, max_width=2 * (t1 - t0) / cols)
    # the spikes every 9973 samples are seen at every zoom level
    _x, _, ymax = p.envelope(t[0], t[-1], 1000)
    assert ymax.max() == v.max()


def test_left_edge_column_is_exact_as_the_window_scrolls():
    """The first column, partly left of t0, still shows its whole interval: no shimmer."""
    rng = np.random.default_rng(9)
    n = 200_000
    t = T_BASE + np.sort(rng.uniform(0, 100, n))
    v = rng.normal(size=n)
    p = Pyramid(1 << 15)
    feed(p, t, v, [5000] * (n // 5000))
    span, cols = 60.0, 320  # column width 0.1875 s: three 62.5 ms buckets
    for shift in np.linspace(0, 5, 41):
        t0 = T_BASE + 20 + shift
        check_envelope(p.envelope(t0, t0 + span, cols), t, v, t0, t0 + span, cols)


def test_nan_values_are_ignored_unless_a_column_holds_only_nan():
    rng = np.random.default_rng(4)
    n = 50_000
    t = T_BASE + np.sort(rng.uniform(0, 10, n))
    v = rng.normal(size=n)
    v[rng.random(n) < 0.3] = np.nan
    v[(t > T_BASE + 4) & (t < T_BASE + 5)] = np.nan  # a whole second of NaN
    p = Pyramid(1 << 14)
    feed(p, t, v, random_sizes(rng, n, 2000))
    for t0, t1, cols in [(T_BASE, T_BASE + 10, 500), (T_BASE + 3.9, T_BASE + 5.1, 200)]:
        x, ymin, ymax = env = p.envelope(t0, t1, cols)
        check_envelope(env, t, v, t0, t1, cols)
        inside = (x > T_BASE + 4.1) & (x < T_BASE + 4.9)
        assert inside.any() and np.isnan(ymin[inside]).all() and np.isnan(ymax[inside]).all()
        assert not np.isnan(ymin[x < T_BASE + 3.9]).any()


def test_many_appends_and_wrapping_use_a_coarser_level_for_old_data():
    rng = np.random.default_rng(5)
    rate = 1000.0
    n = 300_000  # five minutes at 1 kHz
    t = T_BASE + np.arange(n) / rate
    v = np.cumsum(rng.normal(size=n))
    p = Pyramid(256)  # tiny: level 0 holds only ~16 ms
    feed(p, t, v, [50] * (n // 50), ordered=True)
    assert p.levels[0].rows.wrapped

    # the last second at 1000 columns: fine enough levels still hold it
    t0, t1 = t[-1] - 1.0, t[-1]
    w = check_envelope(p.envelope(t0, t1, 1000), t, v, t0, t1, 1000)
    assert w < 0.02

    # the whole five minutes: the fine levels forgot the start; a coarser one is exact
    t0, t1 = t[0], t[-1]
    w = check_envelope(p.envelope(t0, t1, 1000), t, v, t0, t1, 1000)
    assert w > 2 * (t1 - t0) / 1000
    x, ymin, ymax = p.envelope(t0, t1, 1000)
    assert x[0] < t[0] + w  # the very first sample is still represented
    assert ymin.min() == v.min() and ymax.max() == v.max()


def test_history_survives_while_frames_read_only_the_recent_past():
    """A live chart reads a fine level every frame; zooming out later must still find all of
    the history at the coarse levels."""
    rng = np.random.default_rng(13)
    rate = 1000.0
    n = 30_000
    t = T_BASE + np.arange(n) / rate
    v = np.cumsum(rng.normal(size=n))
    p = Pyramid(256)
    for i in range(0, n, 10):  # 10 ms batches
        p.append(t[i : i + 10], v[i : i + 10], ordered=True)
        if i % 100 == 0:  # a frame every 10 batches showing the last 2 s
            p.envelope(t[i + 9] - 2, t[i + 9], 1000)
    x, ymin, ymax = env = p.envelope(t[0], t[-1], 1000)
    check_envelope(env, t, v, t[0], t[-1], 1000)
    assert x[0] < t[0] + 1 and ymin.min() == v.min() and ymax.max() == v.max()


@pytest.mark.parametrize(("gap", "batch"), [(2.0, 1), (2.0, 50), (0.3, 7), (5e-5, 300)])
def test_sparse_data_reaching_every_level(gap, batch):
    """One sample per bucket on many levels: every level receives as many buckets as level 0."""
    rng = np.random.default_rng(14)
    n = 3000
    t = T_BASE + np.cumsum(rng.uniform(0.5, 1.5, n) * gap)
    v = rng.normal(size=n)
    p = Pyramid(64)
    feed(p, t, v, [batch] * (n // batch) + [n % batch])
    check_envelope(p.envelope(t[0], t[-1], 100), t, v, t[0], t[-1], 100)


def test_random_workload_with_queries_between_appends():
    """Appends of every size interleaved with reads, on a small pyramid that wraps often."""
    rng = np.random.default_rng(6)
    p = Pyramid(64)
    ts, vs = [], []
    now = T_BASE
    checked = 0
    for step in range(400):
        size = int(rng.choice([1, 3, 20, 100, 700]))
        gaps = rng.exponential(rng.choice([1e-5, 1e-3, 0.05]), size)
        t = now + np.cumsum(gaps)
        now = t[-1]
        v = rng.normal(size=size)
        assert p.append(t, v) == 0
        ts.append(t)
        vs.append(v)
        if step % 10 == 9:
            all_t, all_v = np.concatenate(ts), np.concatenate(vs)
            t1 = now
            t0 = t1 - rng.choice([0.05, 1.0, 10.0, now - T_BASE])
            cols = int(rng.choice([50, 200]))
            env = p.envelope(t0, t1, cols)
            if len(env[0]) >= 4:  # enough columns to tell their width
                check_envelope(env, all_t, all_v, t0, t1, cols)
                checked += 1
    assert checked >= 30


def test_one_huge_append_reaches_the_coarse_levels():
    """A batch spanning more buckets than a level holds (a consumer catching up after a stall)
    must still be complete at the coarse levels."""
    rng = np.random.default_rng(7)
    n = 5000
    t = T_BASE + np.sort(rng.uniform(0, 10, n))
    v = rng.normal(size=n)
    p = Pyramid(64)
    p.append(t, v)
    _x, ymin, ymax = env = p.envelope(T_BASE, T_BASE + 10, 100)
    check_envelope(env, t, v, T_BASE, T_BASE + 10, 100)
    assert ymin.min() == v.min() and ymax.max() == v.max()


def test_several_large_appends_just_under_and_over_capacity():
    rng = np.random.default_rng(8)
    cap = 128
    p = Pyramid(cap)
    ts, vs = [], []
    start = T_BASE
    for size in [cap // 2, cap // 2 + 1, cap - 1, cap, cap + 1, 3 * cap, 1, cap // 2]:
        t = start + (np.arange(size) + rng.random(size) * 0.5) * bucket_width(0) * 3
        start = t[-1] + bucket_width(0)
        v = rng.normal(size=size)
        p.append(t, v)
        ts.append(t)
        vs.append(v)
    t, v = np.concatenate(ts), np.concatenate(vs)
    t0, t1 = t[0], t[-1]
    _x, ymin, ymax = env = p.envelope(t0, t1, 20)
    check_envelope(env, t, v, t0, t1, 20)
    assert ymin.min() == v.min() and ymax.max() == v.max()


def test_out_of_order_samples_are_counted_late_and_kept():
    """A late sample is counted, and kept in the newest bucket at the time it arrived."""
    rng = np.random.default_rng(10)
    n = 20_000
    t = T_BASE + np.arange(n) * 1e-3
    v = rng.normal(size=n)
    late_at = np.sort(rng.choice(np.arange(100, n), 50, replace=False))
    t[late_at] -= 0.5  # these arrive half a second late
    v[late_at] = 100.0 + np.arange(50)  # and stand out
    p = Pyramid(1 << 14)
    late = feed(p, t, v, random_sizes(rng, n, 700))
    assert late == 50
    counted_at = np.maximum.accumulate(t)
    for t0, t1, cols in [(T_BASE, t.max(), 200), (T_BASE + 3, T_BASE + 7, 1000)]:
        check_envelope(p.envelope(t0, t1, cols), counted_at, v, t0, t1, cols)
    _x, _, ymax = p.envelope(T_BASE, t.max(), 200)
    assert ymax.max() == 149.0  # no late sample lost


def test_out_of_order_first_sample_of_a_batch_is_late():
    p = Pyramid(64)
    assert p.append(np.array([T_BASE + 10.0, T_BASE + 11.0]), np.array([1.0, 2.0])) == 0
    assert p.append(np.array([T_BASE + 5.0, T_BASE + 12.0]), np.array([3.0, 4.0])) == 1
    assert p.append(np.array([T_BASE + 13.0]), np.array([5.0])) == 0


def test_ordered_flag_skips_the_order_check_within_a_batch_only():
    p = Pyramid(64)
    p.append(np.array([T_BASE + 10.0]), np.array([1.0]))
    # a regular chunk is ordered within itself, but may still start before the last sample
    assert p.append(np.array([T_BASE + 9.0, T_BASE + 9.5]), np.array([2.0, 3.0]), ordered=True) == 2


def test_samples_close_together_out_of_order_in_one_bucket_are_not_late():
    p = Pyramid(64)
    b = bucket_width(0)
    t = T_BASE + np.array([0.75, 0.25, 0.5]) * b  # one bucket
    assert p.append(t, np.array([1.0, 2.0, 3.0])) == 0


def test_memory_is_fixed_whatever_the_data():
    p = Pyramid(512)
    before = p.nbytes
    assert before == LEVELS * 2 * 512 * 8 * 6  # index, min, max, count, sum, M2
    rng = np.random.default_rng(11)
    p.append(T_BASE + np.sort(rng.uniform(0, 3600, 100_000)), rng.normal(size=100_000))
    p.envelope(T_BASE, T_BASE + 3600, 1000)
    assert p.nbytes == before


def test_zoomed_out_past_all_data_and_degenerate_ranges():
    p = Pyramid(64)
    t = T_BASE + np.arange(100) * 0.01
    v = np.arange(100.0)
    p.append(t, v)
    x, ymin, ymax = p.envelope(T_BASE + 100, T_BASE + 200, 10)  # after all the data
    assert len(x) <= 1 and (len(x) == 0 or ymax[0] == 99.0)
    x, ymin, ymax = p.envelope(T_BASE - 200, T_BASE - 100, 10)  # before all the data
    assert len(x) <= 1 and (len(x) == 0 or ymin[0] == 0.0)
    for t0, t1, cols in [(T_BASE + 0.5, T_BASE + 0.5, 100), (T_BASE + 0.6, T_BASE + 0.4, 10)]:
        x, ymin, ymax = p.envelope(t0, t1, cols)
        assert len(x) == len(ymin) == len(ymax) <= 3
    x, _, _ = p.envelope(T_BASE, T_BASE + 1, 0)  # zero columns is treated as one
    assert len(x) <= 3


def test_columns_are_stable_as_the_window_scrolls():
    """The same absolute interval gets the same column, min and max in every frame."""
    rng = np.random.default_rng(12)
    n = 100_000
    t = T_BASE + np.sort(rng.uniform(0, 50, n))
    v = rng.normal(size=n)
    p = Pyramid(1 << 15)
    p.append(t, v)
    seen: dict[float, tuple[float, float]] = {}
    for shift in np.linspace(0, 10, 57):
        t0 = T_BASE + 5 + shift
        x, ymin, ymax = p.envelope(t0, t0 + 30, 600)
        keep = (x > t0) & (x < t0 + 30)
        for xi, a, b in zip(x[keep], ymin[keep], ymax[keep], strict=True):
            assert seen.setdefault(float(xi), (a, b)) == (a, b)
    width = min(np.diff(sorted(seen)))
    assert 30 / 600 <= width < 2 * 30 / 600
    assert len(seen) == pytest.approx(40 / width, abs=2)  # every column of the 40 s scrolled


# -- growing levels, a base that follows the rate -----------------------------------------------


def held_rows(level) -> list[np.ndarray]:
    return [level.rows.held(c).copy() for c in range(3)]


def side_by_side(x: np.ndarray, width: float) -> bool:
    """Enough columns, two of them adjacent: the oracle can tell their width from x."""
    return len(x) >= 4 and bool(np.isclose(np.diff(x).min(), width, rtol=0, atol=width * 1e-6))


class Grower:
    """A grow hook for tests: grows level k to what it is asked (by `want`), and checks that
    growing never drops or changes a bucket the level held."""

    def __init__(self, pyramid: Pyramid, want):
        self.pyramid, self.want, self.grown = pyramid, want, 0
        pyramid.grow = self

    def __call__(self, k: int, idx: np.ndarray) -> None:
        level = self.pyramid.levels[k]
        cap = self.want(k, level, idx)
        if cap > level.rows.capacity:
            before = held_rows(level)
            self.pyramid.resize(k, cap)
            for got, want in zip(held_rows(level), before, strict=True):
                np.testing.assert_array_equal(got, want)
            self.grown += 1


@hypothesis.settings(max_examples=30, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    gap=st.sampled_from([2e-6, 1e-4, 3e-3, 0.05, 1.0]),
    batch=st.sampled_from([1, 7, 100, 3000]),
    initial=st.sampled_from([2, 8, 64]),
    cap=st.sampled_from([16, 256, 4096]),
    span=st.sampled_from([64, 4096]),
    rebase=st.booleans(),
)
def test_growing_pyramid_is_exact_whatever_it_kept(seed, gap, batch, initial, cap, span, rebase):
    """Levels grow up to `cap` to keep `span` buckets, the base follows the sample spacing:
    every envelope is exact, from whatever levels still cover it."""
    rng = np.random.default_rng(seed)
    n = 3000
    t = T_BASE + np.cumsum(rng.exponential(gap, n) * rng.choice([1, 1, 1, 40], n))
    v = rng.normal(size=n)
    late = rng.random(n) < 0.01
    t[late] -= rng.exponential(10 * gap, int(late.sum()))  # a few arrive out of order
    p = Pyramid(cap, initial=initial)
    grower = Grower(p, lambda k, level, idx: min(pow2(level.rows_within(idx, span)), cap))
    counted_at = np.maximum.accumulate(t)
    for i in range(0, n, batch):
        if rebase:
            p.fit_base(float(np.median(np.diff(t[max(i - 50, 0) : i + 1]))) if i else 0.0)
        p.append(t[i : i + batch], v[i : i + batch])
        if i % (7 * batch) == 0:
            end = min(i + batch, n)
            t1 = counted_at[end - 1]
            p.sync()
            top = p.levels[-1]  # what even the coarsest level forgot is gone
            oldest = (top.rows.held(0)[0] + 1) * bucket_width(LEVELS - 1) if top.rows.wrapped else 0
            for t0 in (t1 - (t1 - T_BASE) * rng.random(), T_BASE):
                t0 = max(t0, oldest)
                env = p.envelope(t0, t1, 200)
                if side_by_side(env[0], p.last_column_width):
                    check_envelope(env, counted_at[:end], v[:end], t0, t1, 200)
    assert grower.grown or initial >= min(cap, span)
    assert all(level.rows.capacity <= cap for level in p.levels)


def test_a_level_grows_to_what_it_is_asked_and_no_further():
    p = Pyramid(8192, initial=8)
    Grower(p, lambda k, level, idx: min(pow2(level.rows_within(idx, CORE_SPAN)), 8192))
    t = T_BASE + np.arange(200_000) * 1e-3  # 1 kHz for 200 s
    feed(p, t, np.zeros(len(t)), [1000] * 200, ordered=True)
    p.sync()
    caps = [level.rows.capacity for level in p.levels]
    # level 3 (3.9 ms) and 4 (15.6 ms) are dense: 4096 buckets back; 200 s of level 6 (250 ms)
    # is 800 buckets; level 0 (61 us) holds one sample per bucket, 4096 * 61 us = 0.25 s of them
    assert caps[3] == caps[4] == 4096 and caps[6] == 1024 and caps[0] == 256
    assert caps[12] == 8


def test_rows_within_counts_held_and_new_buckets_in_the_span():
    p = Pyramid(64)
    p.append(T_BASE + np.arange(10) * bucket_width(0), np.zeros(10))
    level, last = p.levels[0], p.levels[0].last_index
    assert level.rows_within(np.array([last, last + 1, last + 5]), 6) == 3  # last merged in
    assert level.rows_within(np.array([last + 100]), 1000) == 11
    assert level.rows_within(np.array([last + 100]), 50) == 1


def test_raising_the_base_empties_finer_levels_after_passing_them_on():
    p = Pyramid(4096)
    t = T_BASE + np.arange(50) * 0.3
    v = np.arange(50.0)
    p.append(t[:30], v[:30])
    p.fit_base(0.3)  # levels with buckets <= 0.3 s would hold one sample each: 0..6
    assert p.base == levels_finer_than(0.3) == 7
    assert all(len(p.levels[j].rows) == 0 and not p.levels[j].covers(0) for j in range(6))
    p.append(t[30:], v[30:])
    assert all(len(p.levels[j].rows) == 0 for j in range(6))
    check_envelope(p.envelope(t[0], t[-1], 20), t, v, t[0], t[-1], 20)
    p.fit_base(0.2)  # level 6 (250 ms) would hold 1.25 samples a bucket: not worth feeding
    assert p.base == 7
    p.fit_base(1e-3)  # denser: finer levels are fed again, from now on only
    assert p.base == levels_finer_than(2e-3) == 3
    t2 = t[-1] + 1 + np.arange(2000) * 1e-3
    p.append(t2, np.full(2000, 7.0))
    first = int(t2[0] / bucket_width(3))  # the bucket where level 3 was fed again: partial
    assert not p.levels[3].covers(first) and p.levels[3].covers(first + 1)
    assert not p.levels[3].covers(int(t[-1] / bucket_width(3)))  # nothing before it was fed
    both_t, both_v = np.concatenate([t, t2]), np.concatenate([v, np.full(2000, 7.0)])
    for t0, cols in [(t2[0], 100), (t[0], 40)]:
        check_envelope(p.envelope(t0, t2[-1], cols), both_t, both_v, t0, t2[-1], cols)


def test_a_level_cannot_shrink_below_what_it_has_not_passed_on():
    p = Pyramid(64, initial=64)
    p.append(T_BASE + np.arange(40) * bucket_width(0), np.zeros(40))
    assert p.shrink_floor(0) == 42
    with pytest.raises(ValueError):
        p.resize(0, 32)
    p.sync()
    assert p.shrink_floor(0) == 2
    assert p.resize(0, 2) < 0 and len(p.levels[0].rows) == 2


def test_sample_columns_are_the_level_columns():
    rng = np.random.default_rng(3)
    t = T_BASE + np.sort(rng.uniform(0, 5, 3000))
    v = rng.normal(size=3000)
    p = Pyramid(1 << 14)
    p.append(t, v)
    for k, m in [(0, 1), (3, 2), (5, 3), (6, 4)]:
        first, last = int(t[0] / bucket_width(k)), int(t[-1] / bucket_width(k))
        first, last = first // m * m, last // m * m + m - 1
        p.sync(k)
        idx, mn, mx = p.levels[k].window(first, last)
        cols, cmn, cmx = group(idx // m, mn, mx)
        x, smn, smx = sample_columns(t, v, k, m)
        np.testing.assert_array_equal(x, (cols + 0.5) * m * bucket_width(k))
        np.testing.assert_array_equal(smn, cmn)
        np.testing.assert_array_equal(smx, cmx)


def pyramid_state(p: Pyramid) -> list:
    """Everything a pyramid holds and remembers, for comparing two of them."""
    state: list = [p.base, p._last0, list(p._pending), list(p._pending_from)]
    for level in p.levels:
        rows = level.rows
        state += [rows.total, rows.capacity, rows.wrapped, level.changed, level.partial_row]
        state += [rows.held(c).copy() for c in range(3)]
    return state


def assert_same_state(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)  # NaN equals NaN here
        else:
            assert x == y


@hypothesis.settings(max_examples=25, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    gap=st.sampled_from([2e-6, 1e-4, 3e-3, 0.05, 1.0]),
    batch=st.integers(1, 40),
    initial=st.sampled_from([2, 8]),
    cap=st.sampled_from([16, 4096]),
    rebase=st.booleans(),
)
def test_append_small_leaves_the_pyramid_as_append_does(seed, gap, batch, initial, cap, rebase):
    """The scalar way for small chunks: bucket for bucket the same levels, pending rows and
    late counts as `append`, with late samples, NaN values, chunks straddling buckets and
    levels, growth, and a base that follows the spacing; numpy where it declines."""
    rng = np.random.default_rng(seed)
    n = 1500
    t = T_BASE + np.cumsum(rng.exponential(gap, n) * rng.choice([1, 1, 1, 40], n))
    late = rng.random(n) < 0.02
    t[late] -= rng.exponential(10 * gap, int(late.sum()))
    v = rng.normal(size=n)
    v[rng.random(n) < 0.1] = np.nan
    v[(rng.random(n) < 0.01) | (np.arange(n) % 97 < 3)] = np.nan  # some buckets all NaN
    a, b = Pyramid(cap, initial=initial), Pyramid(cap, initial=initial)
    want = lambda k, level, idx: min(pow2(level.rows_within(idx, 64)), cap)  # noqa: E731
    Grower(a, want), Grower(b, want)
    pos, declined, chunks = 0, 0, 0
    while pos < n:
        size = min(int(rng.integers(1, batch + 1)), n - pos)
        tc, vc = t[pos : pos + size], v[pos : pos + size]
        ordered = bool(np.all(tc[1:] >= tc[:-1])) and rng.random() < 0.5
        if rebase and chunks % 5 == 0:
            spacing = gap * rng.choice([0.5, 1.0, 3.0])
            a.fit_base(spacing)
            b.fit_base(spacing)
        small = b.append_small(tc.tolist(), vc.tolist(), ordered)
        if small is None:
            declined += 1
            small = b.append(tc, vc, ordered)
        assert a.append(tc, vc, ordered) == small
        pos, chunks = pos + size, chunks + 1
        if chunks % 25 == 0:  # reads bring levels up to date: on both alike
            t1 = float(np.max(t[:pos]))
            for span in (0.01, 30.0, 1e4):
                for got, want_env in zip(
                    b.envelope(t1 - span, t1, 300), a.envelope(t1 - span, t1, 300), strict=True
                ):
                    np.testing.assert_array_equal(got, want_env)
            assert_same_state(pyramid_state(a), pyramid_state(b))
    assert_same_state(pyramid_state(a), pyramid_state(b))
    assert declined < chunks  # mostly the scalar way


def test_append_small_declines_nan_infinite_and_far_times_changing_nothing():
    p = Pyramid(64)
    assert p.append_small([T_BASE, T_BASE + 1e-3], [1.0, np.nan]) == 0
    before = pyramid_state(p)
    for times in ([np.nan], [T_BASE + 1.0, np.inf], [T_BASE + 1.0, np.nan], [1e300]):
        assert p.append_small(times, [2.0] * len(times)) is None
        assert_same_state(pyramid_state(p), before)
    assert p.append_small([T_BASE - 1.0, T_BASE + 2.0], [3.0, 4.0]) == 1  # late: kept
    assert p.append_small([-1e300], [0.0]) == 1  # long before anything: late, as in append
    _x, ymin, ymax = p.envelope(T_BASE - 10, T_BASE + 10, 4)
    assert np.nanmax(ymax) == 4.0 and np.nanmin(ymin) == 0.0


# -- count, sum and M2 per bucket: what statistics over a range are made of ----------------------


def counted_index0(t: np.ndarray) -> np.ndarray:
    """The level-0 bucket each sample (in arrival order) is filed in: its own, or for a late
    one the newest so far (as the pyramid does)."""
    return np.maximum.accumulate(column_of(t, bucket_width(0)))


def assert_sums_are_whole(p: Pyramid, t: np.ndarray, v: np.ndarray) -> int:
    """Every bucket a level says it holds whole (app.core.range_moments: from its first
    complete row; above the base, all but the newest) has count, sum and M2 of exactly the
    samples filed in it, two-pass as numpy would (bincount per bucket, not the pyramid's
    code). Returns how many buckets were checked."""
    p.sync()
    ok = ~np.isnan(v)
    idx0, x = counted_index0(t)[ok], v[ok]
    checked = 0
    for k in range(p.base, LEVELS):
        level = p.levels[k]
        if not len(level.rows):
            continue
        idx, _mn, _mx, count, total, m2 = (level.rows.held(c) for c in range(6))
        stop = level.last_index + (1 if k == p.base else 0)
        keep = (idx >= level.first_complete()) & (idx < stop)
        buckets, inverse = np.unique(idx0 >> (2 * k), return_inverse=True)
        if not len(buckets):  # every sample NaN
            assert not count[keep].any()
            continue
        n = np.bincount(inverse, minlength=len(buckets))
        s = np.bincount(inverse, x, minlength=len(buckets))
        mean = s / np.maximum(n, 1)
        q = np.bincount(inverse, (x - mean[inverse]) ** 2, minlength=len(buckets))
        at = np.searchsorted(buckets, idx[keep])
        found = (at < len(buckets)) & (buckets[np.minimum(at, len(buckets) - 1)] == idx[keep])
        want_n = np.where(found, n[np.minimum(at, len(buckets) - 1)], 0)  # none: only NaN
        np.testing.assert_array_equal(count[keep], want_n, err_msg=f"level {k}")
        at = at[found]
        np.testing.assert_allclose(total[keep][found], s[at], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(m2[keep][found], q[at], rtol=1e-9, atol=1e-12)
        checked += int(keep.sum())
    return checked


def test_group_samples_is_count_sum_and_m2_per_bucket_without_nan():
    rng = np.random.default_rng(21)
    for span in (3, 40, 5000):  # few long runs (searched) and many short ones (scanned)
        idx = np.sort(rng.integers(0, span, 4000))
        v = rng.normal(size=4000) * 10 + 1e3
        v[rng.random(4000) < 0.2] = np.nan
        v[idx == idx[0]] = np.nan  # one bucket of NaN only: counted 0, min/max NaN
        got_idx, mn, mx, count, total, m2 = group_samples(idx, v)
        np.testing.assert_array_equal(got_idx, np.unique(idx))
        for i, k in enumerate(got_idx):
            x = v[idx == k]
            ok = x[~np.isnan(x)]
            assert count[i] == len(ok)
            np.testing.assert_array_equal([mn[i], mx[i]], [np.fmin.reduce(x), np.fmax.reduce(x)])
            if len(ok):
                np.testing.assert_allclose(total[i], ok.sum(), rtol=1e-13)
                np.testing.assert_allclose(m2[i], np.sum((ok - ok.mean()) ** 2), rtol=1e-9)
            else:
                assert total[i] == 0 and m2[i] == 0


def test_buckets_merged_are_the_buckets_of_all_their_samples():
    """Chan's combination: merging buckets gives what grouping their samples at once gives,
    with an offset 1e5 times the spread (sums of squares would keep 6 digits of M2, not 9)."""
    rng = np.random.default_rng(22)
    idx = np.sort(rng.integers(0, 400, 20_000))
    v = 1e4 + rng.normal(size=20_000) * 0.1
    v[rng.random(20_000) < 0.05] = np.nan
    fine = group_samples(idx, v)
    coarse = group_buckets(fine[0] >> 3, *fine[1:])
    want = group_samples(idx >> 3, v)
    for got, expected in zip(coarse, want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_combine_two_parts_is_the_whole():
    rng = np.random.default_rng(23)
    x = rng.normal(size=50) + 7.0
    a, b = x[:20], x[20:]
    m2 = lambda y: float(np.sum((y - y.mean()) ** 2))  # noqa: E731
    n, s, q = combine(len(a), a.sum(), m2(a), len(b), b.sum(), m2(b))
    assert n == 50
    np.testing.assert_allclose([s, q], [x.sum(), m2(x)], rtol=1e-12)
    assert combine(0, 0.0, 0.0, len(b), b.sum(), m2(b)) == (len(b), b.sum(), m2(b))
    assert combine(len(a), a.sum(), m2(a), 0, 0.0, 0.0) == (len(a), a.sum(), m2(a))


@hypothesis.settings(max_examples=30, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    gap=st.sampled_from([2e-6, 1e-4, 3e-3, 0.05, 1.0]),
    batch=st.sampled_from([1, 5, 31, 100, 3000]),
    initial=st.sampled_from([2, 8, 64]),
    cap=st.sampled_from([16, 256, 4096]),
    rebase=st.booleans(),
    reads=st.booleans(),
)
def test_every_bucket_held_whole_has_the_sums_of_its_samples(
    seed, gap, batch, initial, cap, rebase, reads
):
    """Sums are passed up exactly once (a newest row without them, then whole), through
    growth, levels forgetting, batches bigger than a level, a base that follows the spacing
    (small chunks the scalar way, big ones numpy's), late samples and NaN; with frames
    reading levels in between or not."""
    rng = np.random.default_rng(seed)
    n = 4000
    t = T_BASE + np.cumsum(rng.exponential(gap, n) * rng.choice([1, 1, 1, 40], n))
    late = rng.random(n) < 0.01
    t[late] -= rng.exponential(10 * gap, int(late.sum()))
    v = rng.normal(size=n) * 3 + 50
    v[rng.random(n) < 0.05] = np.nan
    p = Pyramid(cap, initial=initial)
    Grower(p, lambda k, level, idx: min(pow2(level.rows_within(idx, 64)), cap))
    checked = 0
    for i in range(0, n, batch):
        tc, vc = t[i : i + batch], v[i : i + batch]
        if rebase and (i // batch) % 4 == 0:
            p.fit_base(gap * rng.choice([0.3, 1.0, 3.0, 30.0]))
        if len(tc) <= 32 and p.append_small(tc.tolist(), vc.tolist()) is not None:
            pass
        else:
            p.append(tc, vc)
        if reads and (i // batch) % 3 == 0:
            t1 = float(np.max(t[: i + batch]))
            p.envelope(t1 - rng.choice([0.01, 1.0, 100.0]), t1, 200)  # syncs a few levels
        if (i // batch) % 17 == 0:
            checked += assert_sums_are_whole(p, t[: i + batch], v[: i + batch])
    checked += assert_sums_are_whole(p, t, v)
    assert checked > 0
