"""app.core.strip with many series: a renderer that keeps every series' columns across frames
must draw, frame after frame, exactly what a fresh renderer draws from the same store, and what
the samples themselves say (tests/envelope_oracle.py's exact columns).

The property test drives one renderer through random frames (scrolls, jumps, appends of dense
and sparse series, samples out of order, data ahead of the window, series hidden and shown, y
range changes) and compares every frame with a fresh render: image, extent, newest sample,
lines, bands and which series are dense.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.store import SeriesStore
from app.core.strip import FULL_RENDER_EVERY_S, StripRenderer, grid_for
from tests.envelope_oracle import column_of
from tests.test_strip import (
    T_BASE,
    FakeClock,
    Feed,
    assert_images_equal,
    expected_image,
    explicit,
    fresh,
)

SPAN, SIZE = 5.0, (160, 90)
CW = grid_for(T_BASE, T_BASE + SPAN, *SIZE, -6.0, 6.0).cw
PER_COLUMN = (0.2, 0.45, 1.0, 3.0, 25.0)  # samples per column: lines, borderline, bands


def color(i: int) -> int:
    return 0xFF000000 | ((i * 2654435761) & 0xFFFFFF)


class Source:
    """One series fed in regular chunks up to a time, with optional NaN and spikes."""

    def __init__(self, feed: Feed, i: int, per_column: float, rng, nan: bool):
        self.feed, self.key, self.rng, self.nan = feed, (f"p{i}", "v"), rng, nan
        self.dt, self.level, self.t = CW / per_column, (i % 5) - 2.0, T_BASE

    def upto(self, t_end: float) -> None:
        n = int((t_end - self.t) / self.dt)
        if n <= 0:
            return
        values = self.level + self.rng.normal(0, 0.8, n)
        if self.nan:
            values[self.rng.random(n) < 0.2] = np.nan
        self.feed.regular(self.key, values, self.t, self.dt)
        self.t += n * self.dt

    def late(self, back: float, value: float) -> None:
        self.feed.add(self.key, explicit("v", [value], [self.t - back]))


def assert_same_frame(got, want) -> None:
    assert got.grid == want.grid
    assert_images_equal(got.image, want.image)
    assert got.extent == want.extent
    assert got.newest == want.newest
    assert got.dense == want.dense
    assert set(got.lines) == set(want.lines)
    for key, (x, y) in want.lines.items():
        np.testing.assert_array_equal(got.lines[key][0], x)
        np.testing.assert_array_equal(got.lines[key][1], y)
    assert set(got.bands) == set(want.bands)
    for key, arrays in want.bands.items():
        for a, b in zip(got.bands[key], arrays, strict=True):
            np.testing.assert_array_equal(a, b)


step = st.fixed_dictionaries(
    {
        "columns": st.sampled_from([0, 1, 1, 1, 2, 3, 7, 200, -2]),  # 200: a jump; -2: back
        "fed": st.lists(st.sampled_from([None, 0.0, 0.0, 0.3, -0.1]), min_size=12, max_size=12),
        "late": st.none() | st.tuples(st.integers(0, 11), st.floats(0.01, 4.0)),
        "toggle": st.none() | st.integers(0, 11),  # hide or show a series
        "y": st.sampled_from([(-6.0, 6.0)] * 5 + [(-3.0, 4.0)]),
        "seconds": st.sampled_from([0.0, 0.025, 0.025, 0.7]),
    }
)


SHORT_LEVELS = dict(raw_capacity=512, bucket_capacity=96, grow=False)


@settings(max_examples=120, deadline=None, database=None)
@given(
    st.lists(st.tuples(st.sampled_from(PER_COLUMN), st.booleans()), min_size=1, max_size=12),
    st.lists(step, min_size=2, max_size=12),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_every_frame_equals_a_fresh_render(series, steps, seed, short_levels):
    """`short_levels`: levels of 96 buckets cannot hold the window, so the store serves dense
    series in coarser columns (each spanning up to three image columns), in several widths."""
    rng = np.random.default_rng(seed)
    feed = Feed()
    if short_levels:
        feed.store = SeriesStore(**SHORT_LEVELS)
    sources = [Source(feed, i, p, rng, nan) for i, (p, nan) in enumerate(series)]
    colors = {s.key: color(i) for i, s in enumerate(sources)}
    clock = FakeClock()
    renderer = StripRenderer(clock=clock)
    t1, hidden = T_BASE + 6.0, set()
    for s in sources:
        s.upto(t1)
    for k, st_ in enumerate(steps):
        t1 += st_["columns"] * CW
        clock.now += st_["seconds"]
        for s, lag in zip(sources, st_["fed"], strict=False):
            if lag is not None:  # lag < 0: samples ahead of the window's end
                s.upto(t1 - lag)
        if st_["late"] is not None and st_["late"][0] < len(sources):
            sources[st_["late"][0]].late(st_["late"][1], 9.5)
        if st_["toggle"] is not None and st_["toggle"] < len(sources):
            hidden ^= {sources[st_["toggle"]].key}
        args = (feed.store, t1 - SPAN, t1, SIZE, st_["y"], colors, frozenset(hidden))
        got = renderer.render(*args)
        want = fresh(*args)
        assert_same_frame(got, want)
        if k and st_["columns"] in (1, 2, 3) and st_["y"] == steps[k - 1]["y"]:
            assert not got.full  # a scroll: only what changed was painted


def test_two_hundred_series_scrolling_match_the_samples_and_a_fresh_render():
    """Exact against the samples themselves (brute force), with dense, sparse and NaN series,
    each frame a few columns on with new data for most series."""
    rng = np.random.default_rng(40)
    feed = Feed()
    sources = [Source(feed, i, PER_COLUMN[i % 5], rng, i % 7 == 0) for i in range(200)]
    colors = {s.key: color(i) for i, s in enumerate(sources)}
    clock = FakeClock()
    renderer = StripRenderer(clock=clock)
    t1 = T_BASE + 6.0
    for k in range(12):
        t1 += (k % 3) * CW
        clock.now += 0.025
        for i, s in enumerate(sources):
            if (i + k) % 4:
                s.upto(t1 - (0.2 if i % 9 == 0 else 0.0))
        args = (feed.store, t1 - SPAN, t1, SIZE, (-6.0, 6.0), colors)
        got = renderer.render(*args)
        assert_same_frame(got, fresh(*args))
        if k in (0, 11):
            dense = [(*feed.samples[key], colors[key]) for key in got.dense]
            assert_images_equal(got.image, expected_image(got.grid, dense))
    assert len(got.dense) > 100 and len(got.lines) > 50


# -- samples out of order -------------------------------------------------------------------------


def test_a_late_spike_shows_next_frame_even_once_the_raw_ring_forgot_it():
    """The ring of recent samples is small; by the next frame it has turned over, so the late
    sample cannot be read back: the store's count of late samples still tells."""
    feed = Feed()
    feed.store = SeriesStore(raw_capacity=256, bucket_capacity=4096)
    key = ("p0", "v")
    source = Source(feed, 0, 25.0, np.random.default_rng(1), False)
    source.upto(T_BASE + 6)
    clock = FakeClock()
    renderer = StripRenderer(clock=clock)
    t1 = T_BASE + 6
    args = lambda: (feed.store, t1 - SPAN, t1, SIZE, (-6.0, 12.0), {key: color(0)})  # noqa: E731
    renderer.render(*args())
    source.late(2.0, 11.0)
    source.upto(T_BASE + 6 + CW)  # ~1,000 samples: far more than the ring holds
    assert feed.store.buffer(key).raw.capacity < 1000
    t1 += CW
    got = renderer.render(*args())
    assert got.refreshed == 0 and not got.full
    assert_same_frame(got, fresh(*args()))
    spike_row = int(np.floor((11.0 + 6.0) * 90 / 18.0))
    spike_col = column_of(np.array([source.t - 2.0 - CW]), CW)[0]  # filed in a later bucket
    assert got.image[spike_row].any(), f"the late spike is not drawn (near column {spike_col})"


# -- the rolling refresh --------------------------------------------------------------------------


def test_the_refresh_fetches_every_series_whole_within_the_period_a_slice_a_frame():
    """Whatever the cached columns might miss is repaired within FULL_RENDER_EVERY_S, by a
    rotating slice of the series each frame: no frame fetches them all. Here the cache is made
    wrong on purpose (as if every series had missed data) and must heal in one period."""
    rng = np.random.default_rng(50)
    feed = Feed()
    sources = [Source(feed, i, 3.0, rng, False) for i in range(120)]
    colors = {s.key: color(i) for i, s in enumerate(sources)}
    clock = FakeClock()
    renderer = StripRenderer(clock=clock)
    t1 = T_BASE + 6.0
    for s in sources:
        s.upto(t1)
    args = lambda: (feed.store, t1 - SPAN, t1, SIZE, (-6.0, 6.0), colors)  # noqa: E731
    renderer.render(*args())
    cache = renderer._cache  # white box: make every cached column too narrow
    cache.lo[cache.has] = cache.hi[cache.has] = 0.0  # (the cache holds the window only)
    for f in renderer._order:
        cache.mark(f.slot)
    frame_s = 1 / 40
    per_frame = math.ceil(len(sources) * frame_s / FULL_RENDER_EVERY_S) + 1
    refreshed, healed_at = 0, None
    for k in range(int(FULL_RENDER_EVERY_S / frame_s) + 2):
        clock.now += frame_s
        t1 += CW
        got = renderer.render(*args())
        assert got.refreshed <= per_frame
        refreshed += got.refreshed
        want = fresh(*args())
        same = np.array_equal(got.image, want.image)
        if k == 10:
            assert not same, "healed long before the refresh went round: nothing was wrong"
        if same and healed_at is None:
            healed_at = k
    assert healed_at is not None and refreshed >= len(sources)
    assert_same_frame(got, want)


def test_a_series_refetched_by_the_refresh_repaints_only_if_something_changed():
    rng = np.random.default_rng(51)
    feed = Feed()
    sources = [Source(feed, i, 3.0, rng, False) for i in range(4)]
    colors = {s.key: color(i) for i, s in enumerate(sources)}
    clock = FakeClock()
    renderer = StripRenderer(clock=clock)
    for s in sources:
        s.upto(T_BASE + 6)
    args = (feed.store, T_BASE + 1, T_BASE + 6, SIZE, (-6.0, 6.0), colors)
    first = renderer.render(*args)
    clock.now += FULL_RENDER_EVERY_S
    again = renderer.render(*args)
    assert again.refreshed == 4 and not again.full
    assert not renderer._cache.dirty.any()  # same data: nothing to repaint
    assert_images_equal(again.image, first.image)


# -- coarse columns: a fine level has forgotten the start of the window ---------------------------


def test_coarse_columns_scroll_exactly_and_never_miss_a_peak():
    """Levels of 96 buckets, fixed: the window's level cannot hold 5 s, so the store serves the
    whole view in the next level's columns, each spanning two image columns."""
    rng = np.random.default_rng(60)
    feed = Feed()
    feed.store = SeriesStore(raw_capacity=1 << 12, bucket_capacity=96, grow=False)
    sources = [Source(feed, i, 40.0, rng, i == 2) for i in range(4)]
    colors = {s.key: color(i) for i, s in enumerate(sources)}
    clock = FakeClock()
    renderer = StripRenderer(clock=clock)
    t1 = T_BASE + 6.0
    for k in range(10):
        t1 += (k % 3) * CW
        clock.now += 0.025
        for s in sources:
            s.upto(t1 - 0.01 * k)
        args = (feed.store, t1 - SPAN, t1, SIZE, (-8.0, 8.0), colors)
        got = renderer.render(*args)
        assert_same_frame(got, fresh(*args))
        env = feed.store.envelope(sources[0].key, got.grid.t0, got.grid.t1, got.grid.ncols)
        assert env.width > got.grid.cw  # coarse indeed
        grid = got.grid
        for key in got.dense:  # each image column's band holds every sample inside it
            x, lo, hi = got.bands[key]
            t, v = feed.samples[key]
            cols = column_of(t, grid.cw) - grid.first
            j = np.round(x / grid.cw - 0.5).astype(np.int64) - grid.first
            inside = (cols >= 0) & (cols < grid.ncols) & ~np.isnan(v)
            at = np.searchsorted(j, cols[inside])
            assert np.array_equal(j[at], cols[inside])
            assert (lo[at] <= v[inside]).all() and (hi[at] >= v[inside]).all()


def test_series_all_hidden_across_a_jump_then_shown_again():
    rng = np.random.default_rng(70)
    feed = Feed()
    sources = [Source(feed, i, 3.0, rng, False) for i in range(3)]
    colors = {s.key: color(i) for i, s in enumerate(sources)}
    renderer = StripRenderer(clock=FakeClock())
    for s in sources:
        s.upto(T_BASE + 30)
    every = frozenset(colors)
    for t1, hidden in [(T_BASE + 6, frozenset()), (T_BASE + 20, every), (T_BASE + 20, every)]:
        args = (feed.store, t1 - SPAN, t1, SIZE, (-6.0, 6.0), colors, hidden)
        assert_same_frame(renderer.render(*args), fresh(*args))
    t1 = T_BASE + 20 + CW
    args = (feed.store, t1 - SPAN, t1, SIZE, (-6.0, 6.0), colors)
    assert_same_frame(renderer.render(*args), fresh(*args))
