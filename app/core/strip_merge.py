"""New samples read from the series' raw rings, merged into the column cache all at once.

For the many slow series, `store.envelope` even for one column costs ~25 us (1,000 series: 25
ms a frame), so the samples appended since the last frame are read from each series' raw ring
(strip_feed.scan), and here every series' together are reduced to per-column min/max in one
pass and merged into the cells: the min of mins is exact, each cell holding every earlier
sample of its column already.

A series kept in coarse columns (the store's own, wider than the grid's, where a fine level has
forgotten the start of the window) is merged per coarse column into every image column that
column overlaps: such a cell is the min/max over the coarse columns overlapping it, and stays
so. Its newest coarse column (`Feed.tail`) goes in too: it may reach past the window's end,
into columns that scroll in later and must show it whole (idempotent everywhere else).
"""

from __future__ import annotations

import numpy as np

from app.core.pyramid import group
from app.core.strip_columns import ColumnCache
from app.core.strip_feed import Feed, NewSamples
from app.core.strip_grid import Grid, column_index, overlapped


def merge_new_samples(batch: NewSamples, cache: ColumnCache, grid: Grid) -> list[Feed]:
    """Merge every series' new samples into its cells. Returns the feeds whose new samples
    were out of time order (the pyramid may have filed them in a later bucket): they need
    their whole window from the store."""
    feeds = batch.feeds
    counts = np.fromiter(map(len, batch.times), np.int64, len(feeds))
    t, v = np.concatenate(batch.times), np.concatenate(batch.values)
    before = np.empty_like(t)  # each sample's predecessor in its series
    before[1:] = t[:-1]
    some = counts > 0  # (a coarse series may come for its tail alone)
    before[(np.cumsum(counts) - counts)[some]] = np.asarray(batch.prev)[some]
    which = np.repeat(np.arange(len(feeds)), counts)
    keep = np.ones(len(t), bool)
    late = which[t < before]
    if len(late):
        late = np.unique(late)
        keep &= ~np.isin(which, late)
    slots = np.fromiter((f.slot for f in feeds), np.int64, len(feeds))
    widths = np.fromiter((f.ew for f in feeds), np.float64, len(feeds))
    for width in np.unique(widths).tolist():  # one or two: the grid's columns, coarser ones
        part = keep & (widths[which] == width)
        args = (which, t, v) if part.all() else (which[part], t[part], v[part])
        if width == grid.cw:
            _merge_fine(cache, grid, slots, *args)
        else:
            skip = set(late.tolist())
            coarse = [i for i, f in enumerate(feeds) if f.ew == width and i not in skip]
            _merge_coarse(cache, grid, width, feeds, slots, coarse, *args)
    return [feeds[i] for i in late.tolist()]


def _merge_fine(cache: ColumnCache, grid: Grid, slots, which, t, v) -> None:
    j = column_index(t, grid.cw) - grid.first
    inside = (j >= 0) & (j < grid.ncols)
    if not inside.all():
        which, j, v = which[inside], j[inside], v[inside]
    if len(j):
        cell, mn, mx = group(which * grid.ncols + j, v, v)  # sorted: by series, then time
        cache.merge(slots[cell // grid.ncols], cell % grid.ncols, mn, mx)


def _merge_coarse(cache, grid: Grid, width: float, feeds, slots, coarse, which, t, v) -> None:
    """`coarse`: positions in `feeds` of the series in columns of `width`, tails included."""
    tails = [(i, *feeds[i].tail) for i in coarse if feeds[i].tail is not None]
    tw, tq, tmn, tmx = (np.array(c) for c in zip(*tails, strict=True)) if tails else [[]] * 4
    q = np.concatenate([column_index(t, width), np.asarray(tq, np.int64)])
    if not len(q):
        return
    q0 = int(q.min())
    span = int(q.max()) - q0 + 1
    key = np.concatenate([which, np.asarray(tw, np.int64)]) * span + (q - q0)
    order = np.argsort(key, kind="stable")
    mn = np.concatenate([v, np.asarray(tmn, np.float64)])[order]
    mx = np.concatenate([v, np.asarray(tmx, np.float64)])[order]
    key, mn, mx = group(key[order], mn, mx)  # per series and coarse column
    series, q = key // span, key % span + q0
    newest = np.flatnonzero(np.append(series[1:] != series[:-1], True))
    for k in newest.tolist():  # each series' newest coarse column, as it now stands
        feeds[series[k]].tail = int(q[k]), float(mn[k]), float(mx[k])
    first, last = overlapped((q + 0.5) * width, width, grid)
    n = last - first + 1
    j = np.repeat(first, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    series, mn, mx = np.repeat(series, n), np.repeat(mn, n), np.repeat(mx, n)
    inside = (j >= 0) & (j < grid.ncols)
    if inside.any():  # two coarse columns may share an image column: merged by `group`
        cell, mn, mx = group(series[inside] * grid.ncols + j[inside], mn[inside], mx[inside])
        cache.merge(slots[cell // grid.ncols], cell % grid.ncols, mn, mx)
