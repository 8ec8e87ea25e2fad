"""app.core.strip: the strip-chart image must show every column's true min/max, scroll without
drift, and show at once whatever changes in what it shows (from scratch when its geometry or y
range changes; tests/test_strip_scroll.py drives many series through many frames).

Images are checked against a brute-force painter over the samples themselves: image column j is
the time interval [(first + j) * cw, (first + j + 1) * cw), row r the values
[y0 + r * (y1 - y0) / height, ...), and a column reaches to its left neighbour's range
(strip_columns.stretched) so a jumping signal reads as a continuous trace.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.pyramid import bucket_width
from app.core.store import SeriesStore
from app.core.strip import FULL_RENDER_EVERY_S, Grid, StripRenderer, grid_for
from producers.wire import Chunk
from tests.envelope_oracle import column_of

T_BASE = 1_700_000_000.0
RED, GREEN, BLUE = 0xFFFF0000, 0xFF00FF00, 0xFF0000FF
A, B, C = ("p", "a"), ("p", "b"), ("q", "value")


class FakeClock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def new_store() -> SeriesStore:
    return SeriesStore(raw_capacity=1 << 15, bucket_capacity=4096)


def regular(series: str, values, t0: float, dt: float) -> Chunk:
    return Chunk(series, np.asarray(values, dtype=np.float64), t0=t0, dt=dt)


def explicit(series: str, values, times) -> Chunk:
    return Chunk(
        series,
        np.asarray(values, dtype=np.float64),
        explicit_times=np.asarray(times, dtype=np.float64),
    )


class Feed:
    """A store plus every sample appended to it, per series, for brute-force checks."""

    def __init__(self):
        self.store = new_store()
        self.samples: dict = {}

    def add(self, key, chunk: Chunk) -> None:
        assert chunk.series == key[1]
        assert self.store.append(key[0], chunk)
        t, v = self.samples.get(key, (np.empty(0), np.empty(0)))
        self.samples[key] = (
            np.concatenate([t, chunk.timestamps]),
            np.concatenate([v, chunk.values]),
        )

    def regular(self, key, values, t0: float, dt: float) -> None:
        self.add(key, regular(key[1], values, t0, dt))


def row_of(v, grid: Grid):
    return np.floor(
        (np.asarray(v, dtype=np.float64) - grid.y0) * (grid.height / (grid.y1 - grid.y0))
    )


def true_columns(t: np.ndarray, v: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) per image column from the samples: NaN where a column has no finite sample."""
    lo, hi = np.full(grid.ncols, np.nan), np.full(grid.ncols, np.nan)
    cols = column_of(t, grid.cw) - grid.first
    for j in range(grid.ncols):
        vals = v[(cols == j) & ~np.isnan(v)]
        if len(vals):
            lo[j], hi[j] = vals.min(), vals.max()
    return lo, hi


def expected_image(grid: Grid, series) -> np.ndarray:
    """Paint (t, v, color) series in order, the slow and obvious way."""
    image = np.zeros((grid.height, grid.ncols), np.uint32)
    for t, v, color in series:
        lo, hi = true_columns(t, v, grid)
        for j in range(grid.ncols):
            if np.isnan(lo[j]):
                continue
            a, b = lo[j], hi[j]
            if j > 0 and not np.isnan(lo[j - 1]):  # reach the left neighbour's range
                a, b = min(a, hi[j - 1]), max(b, lo[j - 1])
            ra, rb = int(row_of(a, grid)), int(row_of(b, grid))
            if rb < 0 or ra >= grid.height:
                continue
            image[max(ra, 0) : min(rb, grid.height - 1) + 1, j] = color
    return image


def painted_rows(frame, j: int, color: int) -> np.ndarray:
    return np.flatnonzero(frame.image[:, j] == np.uint32(color))


def assert_images_equal(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    bad = np.argwhere(got != want)
    assert not len(bad), f"{len(bad)} pixels differ, first (row, column): {bad[:5].tolist()}"


def fresh(store, t0, t1, size, y_range, colors, hidden=frozenset()):
    return StripRenderer(clock=FakeClock()).render(store, t0, t1, size, y_range, colors, hidden)


# -- every column is the exact min/max of its samples ---------------------------------------------


@pytest.mark.parametrize(
    ("span", "width", "dt"),
    [
        (8.0, 200, 1 / 1000),  # ~47 samples per column, from the pyramid
        (60.0, 300, 1 / 500),  # coarser level, columns of several buckets
        (2.0, 400, 1 / 20_000),  # fine columns
    ],
)
def test_each_column_paints_exactly_its_samples_min_to_max(span, width, dt):
    rng = np.random.default_rng(7)
    feed = Feed()
    n = int((span + 2) / dt)
    walk = np.cumsum(rng.normal(0, 0.3, n))
    walk = 40 + 30 * walk / np.abs(walk).max()  # within [10, 70]
    feed.regular(A, walk, T_BASE, dt)
    t1 = T_BASE + span + 1.3
    t0 = t1 - span
    frame = fresh(feed.store, t0, t1, (width, 100), (0.0, 100.0), {A: RED})
    grid = frame.grid
    assert grid.t0 <= t0 and grid.t1 > t1
    assert 0.5 * width <= grid.ncols <= 2 * width + 1  # about one column per pixel
    t, v = feed.samples[A]
    assert_images_equal(frame.image, expected_image(grid, [(t, v, RED)]))


def test_painted_rows_hold_the_true_range_and_only_reach_toward_the_left_neighbour():
    rng = np.random.default_rng(3)
    feed = Feed()
    dt = 1 / 2000
    n = 12_000
    jumpy = np.where(rng.random(n // 200).repeat(200) < 0.5, 20.0, 70.0) + rng.normal(0, 2, n)
    feed.regular(A, jumpy, T_BASE, dt)
    frame = fresh(feed.store, T_BASE + 0.5, T_BASE + 5.5, (150, 100), (0.0, 100.0), {A: RED})
    grid = frame.grid
    lo, hi = true_columns(*feed.samples[A], grid)
    checked = 0
    for j in range(grid.ncols):
        rows = painted_rows(frame, j, RED)
        if np.isnan(lo[j]):
            assert not len(rows)
            continue
        r_lo, r_hi = int(row_of(lo[j], grid)), int(row_of(hi[j], grid))
        assert rows.min() <= r_lo and rows.max() >= r_hi, f"column {j} misses its samples"
        assert np.array_equal(rows, np.arange(rows.min(), rows.max() + 1)), "one run per column"
        if j == 0 or np.isnan(lo[j - 1]):
            assert (rows.min(), rows.max()) == (r_lo, r_hi)  # nothing to reach toward
        else:  # extended only as far as the neighbour's range
            assert rows.min() == min(r_lo, int(row_of(hi[j - 1], grid)))
            assert rows.max() == max(r_hi, int(row_of(lo[j - 1], grid)))
        checked += 1
    assert checked > 100
    band_x, _, _ = frame.bands[A]
    assert np.array_equal(column_of(band_x, grid.cw) - grid.first, np.flatnonzero(~np.isnan(lo)))


def test_a_signal_jumping_between_columns_is_drawn_as_a_connected_trace():
    """A square wave: at each jump the column after it spans the whole step (no gaps)."""
    feed = Feed()
    dt = 1 / 1000
    grid = grid_for(T_BASE + 1, T_BASE + 9, 160, 100, 0.0, 100.0)
    t = T_BASE + np.arange(10_000) * dt
    high = (column_of(t, grid.cw) // 5) % 2 == 1  # 5 columns low, 5 columns high
    feed.regular(A, np.where(high, 80.0, 10.0), T_BASE, dt)
    frame = fresh(feed.store, T_BASE + 1, T_BASE + 9, (160, 100), (0.0, 100.0), {A: RED})
    assert frame.grid == grid
    jumps = 0
    for j in range(1, grid.ncols):
        rows = painted_rows(frame, j, RED)
        before = painted_rows(frame, j - 1, RED)
        if rows.max() < before.min() or rows.min() > before.max():
            pytest.fail(f"gap between columns {j - 1} and {j}")
        if len(rows) > 1:
            assert (rows.min(), rows.max()) == (10, 80)
            jumps += 1
    assert jumps >= 10


def test_explicit_irregular_timestamps_are_placed_by_their_time():
    rng = np.random.default_rng(11)
    feed = Feed()
    t = T_BASE + np.cumsum(rng.exponential(1 / 800, 8000))
    feed.add(A, explicit("a", rng.uniform(-0.8, 0.9, len(t)), t))
    t1 = t[-1] - 0.37
    frame = fresh(feed.store, t1 - 6, t1, (180, 64), (-1.0, 1.0), {A: GREEN})
    assert A in frame.bands
    assert_images_equal(frame.image, expected_image(frame.grid, [(t, feed.samples[A][1], GREEN)]))


def test_later_series_paint_over_earlier_ones_in_store_order():
    rng = np.random.default_rng(5)
    feed = Feed()
    dt = 1 / 1000
    feed.regular(A, rng.normal(0, 1, 6000), T_BASE, dt)
    feed.regular(B, rng.normal(0.5, 1, 6000), T_BASE, dt)
    feed.regular(C, rng.normal(-0.5, 1, 6000), T_BASE, dt)
    colors = {A: RED, B: GREEN, C: BLUE}
    frame = fresh(feed.store, T_BASE + 1, T_BASE + 5, (120, 80), (-4.0, 4.0), colors)
    want = expected_image(frame.grid, [(*feed.samples[k], colors[k]) for k in (A, B, C)])
    assert_images_equal(frame.image, want)
    assert {int(c) for c in np.unique(frame.image)} == {0, RED, GREEN, BLUE}


# -- peaks never vanish ---------------------------------------------------------------------------


def test_a_single_sample_spike_in_noise_is_painted_at_its_row_in_its_column():
    rng = np.random.default_rng(2)
    feed = Feed()
    dt = 1 / 1000
    n = 70_000
    noise = rng.normal(0, 1, n).clip(-3.5, 3.5)
    spike_at = 41_234
    noise[spike_at] = 8.2
    feed.regular(A, noise, T_BASE, dt)
    spike_t = T_BASE + spike_at * dt
    size, y_range = (300, 200), (-10.0, 10.0)
    renderer = StripRenderer(clock=FakeClock())
    for k, t1 in enumerate(T_BASE + np.linspace(45.0, 69.0, 7)):
        frame = renderer.render(feed.store, t1 - 30, t1, size, y_range, {A: RED})
        grid = frame.grid
        j = int(column_of(np.array([spike_t]), grid.cw)[0]) - grid.first
        spike_row = int(row_of(8.2, grid))
        assert spike_row in painted_rows(frame, j, RED), f"render {k}: spike missing"
        others = np.delete(frame.image[spike_row], j)
        assert not others.any(), f"render {k}: spike row painted elsewhere"


# -- scrolling equals redrawing -------------------------------------------------------------------


def scroll_and_compare(feed: Feed, steps, clock: FakeClock, size=(160, 90), y_range=(-6.0, 6.0)):
    """Render at each (t1, append) step with one renderer; each render must match a fresh full
    render of the same state. Returns the frames."""
    colors = {A: RED, B: GREEN, C: BLUE}
    renderer = StripRenderer(clock=clock)
    frames = []
    span = 5.0
    for t1, append in steps:
        append()
        frame = renderer.render(feed.store, t1 - span, t1, size, y_range, colors)
        want = fresh(feed.store, t1 - span, t1, size, y_range, colors)
        assert want.full
        assert_images_equal(frame.image, want.image)
        assert frame.grid == want.grid
        frames.append(frame)
    return frames


def noise_source(feed: Feed, key, rng, dt: float):
    """Appends noisy square-wave data for `key` up to a time; returns that function."""
    state = {"t": T_BASE}

    def upto(t_end: float) -> None:
        n = int((t_end - state["t"]) / dt)
        if n <= 0:
            return
        t = state["t"] + np.arange(n) * dt
        level = np.where((np.floor(t * 16) % 2) == 0, -3.0, 3.0)  # 2 columns high, 2 low
        feed.regular(key, level + rng.normal(0, 0.7, n), state["t"], dt)
        state["t"] += n * dt

    return upto


def test_scrolling_by_whole_columns_equals_a_full_render():
    rng = np.random.default_rng(21)
    feed = Feed()
    a = noise_source(feed, A, rng, 1 / 1000)
    b = noise_source(feed, B, rng, 1 / 700)
    clock = FakeClock()
    cw = grid_for(T_BASE, T_BASE + 5, 160, 90, -6, 6).cw
    t1 = T_BASE + 6.0

    def step(k: int):
        nonlocal t1
        t1 += k * cw
        end = t1

        def append():
            a(end - rng.uniform(0, 0.02))
            b(end - rng.uniform(0, 0.05))

        return end, append

    steps = [step(k) for k in (0, 1, 1, 3, 0, 2, 7, 1, 4, 1, 1, 12)]
    frames = scroll_and_compare(feed, steps, clock)
    assert frames[0].full
    assert not any(f.full for f in frames[1:]), "every later frame should have scrolled"
    assert all(A in f.bands and B in f.bands for f in frames)


def test_scrolling_after_a_series_stopped_receiving_data_equals_a_full_render():
    rng = np.random.default_rng(22)
    feed = Feed()
    a = noise_source(feed, A, rng, 1 / 1000)
    b = noise_source(feed, B, rng, 1 / 1000)
    clock = FakeClock()
    cw = grid_for(T_BASE, T_BASE + 5, 160, 90, -6, 6).cw
    t1 = T_BASE + 6.0
    steps = []
    for i, k in enumerate((0, 2, 2, 5, 1, 9, 3)):
        t1 += k * cw
        end, b_too = t1, i < 3  # b stops after the third frame

        def append(end=end, b_too=b_too):
            a(end)
            if b_too:
                b(end)

        steps.append((end, append))
    frames = scroll_and_compare(feed, steps, clock)
    assert not any(f.full for f in frames[1:])
    last = frames[-1]
    b_end = column_of(feed.samples[B][0][-1:], last.grid.cw)[0] - last.grid.first
    assert (last.image[:, :b_end] == GREEN).any()
    assert not (last.image[:, b_end + 1 :] == GREEN).any()


def test_scrolling_picks_up_a_series_lagging_behind_the_others():
    """Data older than the newest sample (a slow producer catching up) shows at once, without
    waiting for the periodic full render."""
    rng = np.random.default_rng(23)
    feed = Feed()
    a = noise_source(feed, A, rng, 1 / 1000)
    b = noise_source(feed, B, rng, 1 / 1000)
    clock = FakeClock()
    cw = grid_for(T_BASE, T_BASE + 5, 160, 90, -6, 6).cw
    t1 = T_BASE + 6.0
    steps = []
    # b's lag behind a, in seconds, per frame; None: nothing from b this frame
    for k, lag in zip((0, 1, 2, 1, 3, 1, 2), (1.5, 1.0, 0.0, None, 0.0, None, 0.0), strict=True):
        t1 += k * cw

        def append(end=t1, lag=lag):
            a(end)
            if lag is not None:
                b(end - lag)

        steps.append((t1, append))
    frames = scroll_and_compare(feed, steps, clock)
    assert not any(f.full for f in frames[1:])


def test_out_of_order_samples_show_in_the_next_frame():
    """Samples older than their own series' newest (the pyramid files them in a later bucket)
    make that series fetch its whole window again: drawn in the next frame, as a fresh render
    draws them, without waiting for the rolling refresh (the clock does not move here)."""
    rng = np.random.default_rng(24)
    feed = Feed()
    a = noise_source(feed, A, rng, 1 / 1000)
    a(T_BASE + 6)
    clock = FakeClock()
    renderer = StripRenderer(clock=clock)
    colors, size, y_range = {A: RED}, (160, 90), (-6.0, 6.0)
    t1 = T_BASE + 6
    cw = renderer.render(feed.store, t1 - 5, t1, size, y_range, colors).grid.cw
    feed.add(A, explicit("a", [5.5], [T_BASE + 5.2]))  # late, and a spike
    assert feed.store.stats(A)[1] == 1
    t1 += cw
    frame = renderer.render(feed.store, t1 - 5, t1, size, y_range, colors)
    assert not frame.full and frame.refreshed == 0
    assert_images_equal(frame.image, fresh(feed.store, t1 - 5, t1, size, y_range, colors).image)
    assert frame.image[int(row_of(5.5, frame.grid))].any(), "the late spike is not drawn"


# -- when to redraw everything --------------------------------------------------------------------


@pytest.fixture
def two_series():
    rng = np.random.default_rng(30)
    feed = Feed()
    feed.regular(A, rng.normal(-1, 1, 8000), T_BASE, 1 / 1000)
    feed.regular(B, rng.normal(1, 1, 8000), T_BASE, 1 / 1000)
    return feed


@pytest.mark.parametrize(
    "change",
    ["y_range", "size", "height", "hide", "colors", "back_in_time", "far_ahead", "time"],
)
def test_a_change_of_what_is_shown_redraws_from_scratch(two_series, change):
    store = two_series.store
    clock = FakeClock()
    renderer = StripRenderer(clock=clock)
    args = {
        "t0": T_BASE + 1,
        "t1": T_BASE + 6,
        "size": (120, 60),
        "y_range": (-4.0, 4.0),
        "colors": {A: RED, B: GREEN},
        "hidden": frozenset(),
    }
    assert renderer.render(store, **args).full
    cw = renderer.render(store, **args).grid.cw
    args["t0"], args["t1"] = args["t0"] + cw, args["t1"] + cw
    assert not renderer.render(store, **args).full  # unchanged apart from time: scrolls
    if change == "y_range":
        args["y_range"] = (-4.0, 5.0)
    elif change == "size":
        args["size"] = (300, 60)
    elif change == "height":
        args["size"] = (120, 61)
    elif change == "hide":
        args["hidden"] = frozenset({B})
    elif change == "colors":
        args["colors"] = {A: RED, B: BLUE}
    elif change == "back_in_time":
        args["t0"], args["t1"] = args["t0"] - cw, args["t1"] - cw
    elif change == "far_ahead":
        args["t0"], args["t1"] = args["t0"] + 10, args["t1"] + 10
    else:
        clock.now += FULL_RENDER_EVERY_S
    frame = renderer.render(store, **args)
    if change in ("hide", "colors"):  # only the columns of the series concerned are repainted
        assert not frame.full
    elif change == "time":  # the rolling refresh: both series fetched whole, nothing repainted
        assert not frame.full and frame.refreshed == 2
    else:
        assert frame.full
    if change == "size":
        assert frame.grid.cw < cw
    want = fresh(store, **args)
    assert_images_equal(frame.image, want.image)


def test_hidden_series_and_series_without_a_color_are_not_painted(two_series):
    feed = two_series
    feed.regular(C, np.full(8000, 2.5), T_BASE, 1 / 1000)
    args = ((T_BASE + 1, T_BASE + 6), (120, 60), (-4.0, 4.0))
    (t0, t1), size, y_range = args
    every = fresh(feed.store, t0, t1, size, y_range, {A: RED, B: GREEN, C: BLUE})
    assert {int(c) for c in np.unique(every.image)} == {0, RED, GREEN, BLUE}

    only_a = fresh(feed.store, t0, t1, size, y_range, {A: RED, B: GREEN, C: BLUE}, {B, C})
    assert {int(c) for c in np.unique(only_a.image)} == {0, RED}
    assert set(only_a.bands) == {A} and not only_a.lines
    assert_images_equal(only_a.image, expected_image(only_a.grid, [(*feed.samples[A], RED)]))

    uncolored = fresh(feed.store, t0, t1, size, y_range, {A: RED})
    assert_images_equal(uncolored.image, only_a.image)
    assert set(uncolored.bands) == {A}


def test_hiding_a_series_while_scrolling_removes_it_at_once(two_series):
    store = two_series.store
    renderer = StripRenderer(clock=FakeClock())
    colors, size, y_range = {A: RED, B: GREEN}, (120, 60), (-4.0, 4.0)
    first = renderer.render(store, T_BASE + 1, T_BASE + 6, size, y_range, colors)
    assert (first.image == GREEN).any()
    hidden = renderer.render(store, T_BASE + 1, T_BASE + 6, size, y_range, colors, frozenset({B}))
    assert not (hidden.image == GREEN).any()
    shown = renderer.render(store, T_BASE + 1, T_BASE + 6, size, y_range, colors)
    assert_images_equal(shown.image, first.image)


# -- sparse series and raw samples ----------------------------------------------------------------


def test_a_sparse_series_comes_back_as_a_line_not_in_the_image():
    feed = Feed()
    grid = grid_for(T_BASE + 10, T_BASE + 20, 200, 80, 0.0, 10.0)
    t = T_BASE + np.arange(0.0, 30.0, 5 * grid.cw)  # one sample every five columns
    values = np.linspace(1.0, 9.0, len(t))
    feed.add(A, explicit("a", values, t))
    feed.regular(B, np.full(30_000, 5.0), T_BASE, 1 / 1000)  # dense, for contrast
    frame = fresh(feed.store, T_BASE + 10, T_BASE + 20, (200, 80), (0.0, 10.0), {A: RED, B: GREEN})
    assert A in frame.lines and A not in frame.bands
    assert B in frame.bands and B not in frame.lines
    assert not (frame.image == RED).any()
    x, y = frame.lines[A]  # per column holding a sample: (centre, min), (centre, max)
    inside = (t >= T_BASE + 10) & (t <= T_BASE + 20)
    centres = (column_of(t, grid.cw) + 0.5) * grid.cw
    want = np.repeat(centres[inside], 2), np.repeat(values[inside], 2)
    first = int(np.flatnonzero(x == want[0][0])[0])
    np.testing.assert_array_equal(x[first : first + len(want[0])], want[0])
    np.testing.assert_array_equal(y[first : first + len(want[0])], want[1])
    assert len(x) <= len(want[0]) + 4  # at most one neighbour each side


def test_a_sparse_series_seen_through_coarse_columns_is_a_min_max_line():
    """Zoomed out so far that a sparse series still has several samples per column: each column
    is drawn as its min then its max at the column's centre."""
    feed = Feed()
    dt = 0.5
    t = T_BASE + np.arange(0, 4000.0, dt)
    values = np.sin(np.arange(len(t)) * 0.37) * 4
    gone = (np.floor((t - T_BASE) / 200) % 3) != 0  # data in one column of three only
    feed.add(A, explicit("a", values[~gone], t[~gone]))
    frame = fresh(feed.store, T_BASE + 100, T_BASE + 3900, (40, 50), (-5.0, 5.0), {A: RED})
    grid = frame.grid
    assert A in frame.lines and not frame.image.any()
    x, y = frame.lines[A]
    lo, hi = true_columns(t[~gone], values[~gone], grid)
    for j in np.flatnonzero(~np.isnan(lo)):
        centre = (grid.first + j + 0.5) * grid.cw
        at = np.flatnonzero(x == centre)
        assert len(at) == 2, f"column {j}"
        assert (y[at[0]], y[at[1]]) == (lo[j], hi[j])


@pytest.mark.parametrize("per_column", [0.5, 1.5, 7])
def test_raw_zoomed_in_data_is_rasterised_exactly(per_column):
    """Zoomed in below the pyramid's finest bucket: columns of raw samples."""
    width = 256
    span = width * bucket_width(0) / 4  # a quarter bucket per pixel
    grid = grid_for(T_BASE, T_BASE + span, width, 80, -2.0, 2.0)
    assert grid.cw < bucket_width(0)
    dt = grid.cw / per_column
    rng = np.random.default_rng(int(per_column * 10))
    feed = Feed()
    n = int(3 * span / dt)
    feed.add(A, explicit("a", rng.uniform(-1.5, 1.5, n), T_BASE - span + np.arange(n) * dt))
    t0, t1 = T_BASE + 0.3 * grid.cw, T_BASE + span
    frame = fresh(feed.store, t0, t1, (width, 80), (-2.0, 2.0), {A: RED})
    assert frame.grid.cw == grid.cw
    t, v = feed.samples[A]
    if per_column >= 1:
        assert A in frame.bands
        assert_images_equal(frame.image, expected_image(frame.grid, [(t, v, RED)]))
    else:  # a sample every other column: the raw samples as a line
        assert A in frame.lines and not frame.image.any()
        x, y = frame.lines[A]
        inside = (t >= t0) & (t <= t1)
        got = set(zip(x.tolist(), y.tolist(), strict=True))
        assert set(zip(t[inside].tolist(), v[inside].tolist(), strict=True)) <= got
        assert got <= set(zip(t.tolist(), v.tolist(), strict=True))


# -- values out of range, NaN ---------------------------------------------------------------------


def test_values_outside_the_y_range_are_clipped_to_the_image():
    feed = Feed()
    dt = 1 / 1000
    n = 6000
    t = T_BASE + np.arange(n) * dt
    grid = grid_for(T_BASE + 1, T_BASE + 5, 100, 50, 0.0, 10.0)
    col = column_of(t, grid.cw) - grid.first
    kind = col % 4
    lo = np.choose(kind, [20.0, -30.0, -5.0, 4.0])  # above, below, across, inside-to-above
    hi = np.choose(kind, [30.0, -20.0, 15.0, 12.0])
    values = np.where(np.arange(n) % 2 == 0, lo, hi)
    feed.regular(A, values, T_BASE, dt)
    frame = fresh(feed.store, T_BASE + 1, T_BASE + 5, (100, 50), (0.0, 10.0), {A: RED})
    assert frame.grid == grid
    assert_images_equal(frame.image, expected_image(grid, [(t, values, RED)]))
    j = np.arange(grid.ncols)
    across = frame.image[:, (j % 4 == 2) & (j > 0)]
    assert (across == RED).all(), "a column spanning the range fills every row"
    assert (frame.image[-1, (j % 4 == 3)] == RED).all()  # runs up to the top row
    assert frame.extent == (-30.0, 30.0)


def test_nan_values_do_not_crash_and_are_not_painted():
    feed = Feed()
    dt = 1 / 1000
    n = 8000
    values = np.full(n, 30.0)
    values[::7] = np.nan  # sprinkled: the other samples still count
    values[3000:5000] = np.nan  # a gap of NaN only
    feed.regular(A, values, T_BASE, dt)
    t = T_BASE + np.arange(n) * dt
    frame = fresh(feed.store, T_BASE + 0.5, T_BASE + 7.5, (140, 100), (0.0, 100.0), {A: RED})
    grid = frame.grid
    lo, _ = true_columns(t, values, grid)
    empty = np.isnan(lo)
    assert empty.sum() >= 20
    assert not frame.image[:, empty].any(), "a column of NaN only is painted"
    assert (frame.image[30, ~empty] == RED).all()
    assert_images_equal(frame.image, expected_image(grid, [(t, values, RED)]))
    assert frame.extent == (30.0, 30.0)


def test_a_series_of_nan_only_draws_nothing():
    feed = Feed()
    feed.regular(A, np.full(5000, np.nan), T_BASE, 1 / 1000)
    feed.add(B, explicit("b", [np.nan, np.nan, np.nan], T_BASE + np.array([1.0, 2.0, 3.0])))
    frame = fresh(feed.store, T_BASE, T_BASE + 5, (100, 50), (0.0, 1.0), {A: RED, B: GREEN})
    assert not frame.image.any()
    assert frame.extent == (math.inf, -math.inf)  # nothing to fit the y range to
    assert frame.newest == feed.samples[A][0][-1]


# -- extent and newest ----------------------------------------------------------------------------


def test_extent_is_the_range_of_the_data_in_view():
    feed = Feed()
    dt = 1 / 1000
    n = 20_000
    t = T_BASE + np.arange(n) * dt
    values = np.sin(np.arange(n) * 0.01)
    values[(t > T_BASE + 2) & (t < T_BASE + 3)] = -50.0  # before the view
    values[t > T_BASE + 17] = 70.0  # after it
    feed.regular(A, values, T_BASE, dt)
    t0, t1 = T_BASE + 5.01, T_BASE + 14.98
    frame = fresh(feed.store, t0, t1, (200, 100), (-1.0, 1.0), {A: RED})
    inside = (t >= t0) & (t <= t1)
    assert frame.extent == (values[inside].min(), values[inside].max())
    assert frame.newest == t[-1]


def test_extent_includes_the_newest_samples_at_the_right_edge():
    """The newest samples sit just before t1, in the last column, which may end well after t1:
    they are in view and the y range must fit them."""
    feed = Feed()
    dt = 1 / 1000
    grid = grid_for(T_BASE, T_BASE + 4, 100, 100, 0.0, 100.0)
    t1 = (grid.first + grid.ncols - 1 + 0.1) * grid.cw  # a tenth into the last column
    n = int((t1 - T_BASE) / dt)
    values = np.full(n, 30.0)
    values[-1] = 90.0  # the newest sample, a spike
    feed.regular(A, values, T_BASE, dt)
    assert T_BASE + (n - 1) * dt <= t1
    frame = fresh(feed.store, t1 - 4, t1, (100, 100), (0.0, 100.0), {A: RED})
    assert frame.extent == (30.0, 90.0)
    assert frame.image[90, frame.grid.ncols - 1] == RED


def test_extent_and_newest_cover_sparse_and_dense_series_but_not_hidden_ones():
    feed = Feed()
    feed.regular(A, np.linspace(-2, 2, 10_000), T_BASE, 1 / 1000)
    feed.add(B, explicit("b", [7.0, -9.0], T_BASE + np.array([3.0, 6.0])))
    feed.add(C, explicit("value", [100.0, 100.0], T_BASE + np.array([7.0, 12.0])))
    colors = {A: RED, B: GREEN, C: BLUE}
    frame = fresh(feed.store, T_BASE + 1, T_BASE + 8, (100, 50), (-10.0, 10.0), colors, {C})
    assert B in frame.lines
    assert frame.extent == (-9.0, 7.0)  # hidden C is not counted
    assert frame.newest == feed.samples[A][0][-1]  # after the view, and not hidden C's
    shown = fresh(feed.store, T_BASE + 1, T_BASE + 8, (100, 50), (-10.0, 10.0), colors)
    assert shown.extent == (-9.0, 100.0) and shown.newest == T_BASE + 12.0
    assert fresh(feed.store, T_BASE + 1, T_BASE + 8, (100, 50), (-1, 1), {}).newest is None


def test_an_empty_store_renders_an_empty_frame():
    frame = fresh(new_store(), T_BASE, T_BASE + 10, (100, 40), (0.0, 1.0), {A: RED})
    assert frame.image.shape == (40, frame.grid.ncols)
    assert not frame.image.any()
    assert frame.extent == (math.inf, -math.inf) and frame.newest is None
