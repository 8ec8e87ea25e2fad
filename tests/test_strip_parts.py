"""The strip renderer's parts on their own: the column cache's incremental bookkeeping
(app.core.strip_columns) and painting many series at once (app.core.strip_paint)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.strip_columns import ColumnCache
from app.core.strip_grid import Grid, is_dense
from app.core.strip_paint import paint_columns

NCOLS = 12


def recounted(cache: ColumnCache, slot: int) -> tuple[int, int]:
    j = np.flatnonzero(cache.has[slot, cache.window])
    return len(j), int(np.count_nonzero(np.diff(j) == 1))


cells = st.lists(st.tuples(st.integers(0, NCOLS - 1), st.sampled_from([-1.0, 0.5, 2.0, np.nan])))
op = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 3), st.integers(0, NCOLS - 1), cells),
    st.tuples(st.just("merge"), st.lists(st.integers(0, 3), max_size=4), cells),
    st.tuples(st.just("scroll"), st.integers(0, NCOLS - 1)),
    st.tuples(st.just("remove"), st.integers(0, 3)),
)


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(op, max_size=30))
def test_counts_extent_and_dirty_columns_follow_every_change(ops):
    """After any sequence of writes, merges, scrolls and removals: the kept counts equal a
    recount, `dense` equals strip_grid.is_dense, the extent is the min/max of what the window
    holds, and every column whose contents changed was marked dirty."""
    cache = ColumnCache(0.5, 1000, NCOLS, rows=2)
    slots = [cache.add_row() for _ in range(4)]  # grows once
    for o in ops:
        before = (cache.lo[:, cache.window].copy(), cache.has[:, cache.window].copy())
        shift = o[1] if o[0] == "scroll" else 0
        cache.begin(shift)
        if o[0] == "write":
            _, s, j0, cs = o
            j = np.array(sorted({c for c, _ in cs if c >= j0}), np.int64)
            vals = np.array([dict(cs)[c] for c in j])
            cache.write(slots[s], j0, j, vals, vals + 1)
        elif o[0] == "merge":
            pairs = sorted({(slots[s], c) for s in o[1] for c, _ in o[2]})
            if pairs:
                value = dict(o[2])
                vals = np.array([value[c] for _, c in pairs])
                cs_, js = np.array(pairs).T
                cache.merge(cs_, js, vals, vals + 1)
        elif o[0] == "remove":
            cache.remove_row(slots[o[1]])
            slots[o[1]] = cache.add_row()
        if shift == 0:  # contents changed only where marked dirty
            lo, has = cache.lo[:, cache.window], cache.has[:, cache.window]
            moved = (has != before[1]) | ~((lo == before[0]) | (np.isnan(lo) & np.isnan(before[0])))
            assert not (moved.any(axis=0) & ~cache.dirty).any()
        for s in slots:
            assert (cache.present[s], cache.pairs[s]) == recounted(cache, s)
            j = np.flatnonzero(cache.has[s, cache.window])
            assert cache.dense()[s] == is_dense(j)
        cache.dirty[:] = True  # (all: the extent's per-column aggregates are checked in full)
        lo, hi = cache.lo[:, cache.window], cache.hi[:, cache.window]
        want = (np.fmin.reduce(lo, axis=None), np.fmax.reduce(hi, axis=None))
        got = cache.extent()
        assert got == ((np.inf, -np.inf) if np.isnan(want[0]) else want)


def test_stretch_reaches_the_left_neighbour_and_leaves_empty_columns_empty():
    cache = ColumnCache(1.0, 0, 6, rows=1)
    cache.begin(4)  # the ring wraps round: window columns 2.. sit at array columns 0..
    j = np.arange(6)
    lo = np.array([0.0, 5.0, np.nan, 1.0, 2.0, 10.0])
    cache.write(0, 0, j, lo, lo + 1)
    got_lo, got_hi = cache.stretched(np.array([0]), np.arange(6))
    np.testing.assert_array_equal(got_lo[0], [0.0, 1.0, np.nan, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(got_hi[0], [1.0, 6.0, np.nan, 2.0, 3.0, 11.0])
    for cols in ([4, 5], [1, 2], [0, 3, 5], [5]):  # runs, and columns apart
        part_lo, part_hi = cache.stretched(np.array([0]), np.array(cols))
        np.testing.assert_array_equal(part_lo[0], got_lo[0, cols])
        np.testing.assert_array_equal(part_hi[0], got_hi[0, cols])


# -- painting -------------------------------------------------------------------------------------


def naive(grid: Grid, lo, hi, colors) -> np.ndarray:
    """Series after series, column after column, the obvious way."""
    image = np.zeros((grid.height, lo.shape[1]), np.uint32)
    scale = grid.height / (grid.y1 - grid.y0)
    for s in range(lo.shape[0]):
        for c in range(lo.shape[1]):
            a, b = lo[s, c], hi[s, c]
            if not (np.isfinite(a) and np.isfinite(b)):
                continue
            ra, rb = int(np.floor((a - grid.y0) * scale)), int(np.floor((b - grid.y0) * scale))
            if rb < 0 or ra >= grid.height:
                continue
            image[max(ra, 0) : min(rb, grid.height - 1) + 1, c] = colors[s]
    return image


@settings(max_examples=80, deadline=None, database=None)
@given(
    st.integers(1, 30),
    st.integers(1, 9),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.02, 0.3, 3.0]),
)
def test_both_ways_of_painting_give_the_naive_image(series, columns, seed, spread):
    """Later series on top wherever runs overlap, whichever way is used; NaN and infinite
    values paint nothing; runs beyond the image are clipped."""
    rng = np.random.default_rng(seed)
    grid = Grid(1.0, 0, columns, 40, -1.0, 1.0)
    mid = rng.normal(0, 1, (series, columns))
    lo = mid - rng.exponential(spread, mid.shape)
    hi = mid + rng.exponential(spread, mid.shape)
    lo[rng.random(mid.shape) < 0.1] = np.nan
    hi[rng.random(mid.shape) < 0.03] = np.inf
    colors = rng.integers(1, 2**32, series, dtype=np.uint64).astype(np.uint32)
    want = naive(grid, lo, hi, colors)
    apart = 2 * np.arange(columns) + 1  # every other column of a wider image
    for method in ("owner", "layer", None):
        image = np.full((grid.height, columns + 2), 7, np.uint32)
        paint_columns(image, grid, np.arange(1, columns + 1), lo, hi, colors, method)
        np.testing.assert_array_equal(image[:, 1:-1], want, err_msg=str(method))
        assert (image[:, [0, -1]] == 7).all(), "painted outside its columns"
        image = np.full((grid.height, 2 * columns + 1), 7, np.uint32)
        paint_columns(image, grid, apart, lo, hi, colors, method)
        np.testing.assert_array_equal(image[:, apart], want, err_msg=str(method))
        assert (image[:, apart - 1] == 7).all(), "painted outside its columns"


def test_identical_series_show_the_last_one_everywhere():
    """Complete overlap: the last series in paint order owns every pixel, not whichever write
    numpy happened to apply last."""
    grid = Grid(1.0, 0, 50, 64, 0.0, 1.0)
    lo = np.tile(np.linspace(0.1, 0.5, 50), (300, 1))
    hi = lo + 0.3
    colors = np.arange(1, 301, dtype=np.uint32)
    for method in ("owner", "layer"):
        image = np.zeros((64, 50), np.uint32)
        paint_columns(image, grid, np.arange(50), lo, hi, colors, method)
        assert set(np.unique(image).tolist()) == {0, 300}
