"""Bringing the column cache up to date from the store, per series, as cheaply as each case
allows; `scan` decides, once per frame, in one pass over the series.

- Whole window (`fetch_full`): `store.envelope` over the grid, as a fresh render does. For new
  series, lines (sparse series), samples that arrived out of order (the pyramid may file them
  in a later bucket than their time says), and the rolling refresh.
- From a time on (`fetch_from`): `store.envelope` over the newest columns only, replacing them.
  For fast series (many samples since the last frame: the store's pyramid has them reduced
  already), rows the raw ring lost before they were read, and data that was ahead of the
  window and scrolls into view.
- New samples: for the many slow series, `store.envelope` even for one column costs ~25 us
  (1,000 series: 25 ms a frame), so `scan` gathers the rows appended since the last frame from
  each series' raw ring (`store.buffer(key).raw`, rows by absolute number) and strip_merge
  merges them into the cells, all series at once. Reading the ring without the series lock is
  safe because frames are built on the thread that appends (the consumer thread; see
  app.core.store and app.core.strip).

Either way a series' cells stay what a whole-window envelope would give, in the store's column
width for that series: the grid's own, or coarser where a fine level has forgotten the start of
the window (`Feed.ew`; such cells span the image columns a store column overlaps).
"""

from __future__ import annotations

import math

import numpy as np

from app.core.pyramid import bucket_width
from app.core.store import Envelope, SeriesBuffer, SeriesKey, SeriesStore
from app.core.strip_columns import ColumnCache
from app.core.strip_grid import Grid, column_of_time, image_columns, is_dense

RAW_MAX = 1024  # new samples per series above which the store's reduced columns are cheaper


class Feed:
    """What the renderer knows of one drawn series."""

    __slots__ = (
        "buf", "color", "count", "env", "ew", "key", "last_time", "late", "slot", "span", "tail",
        "total",
    )  # fmt: skip

    def __init__(self, key: SeriesKey, slot: int, color: int):
        self.key, self.slot, self.color = key, slot, color
        self.buf: SeriesBuffer | None = None  # whose samples the cells hold (None: none yet)
        self.total = self.count = self.late = 0  # raw rows, samples, late samples consumed
        self.last_time = -math.inf  # newest sample consumed
        self.ew = 0.0  # width of the store's columns in the cells (> cw: coarse)
        self.env: Envelope | None = None  # this frame's whole-window envelope, if fetched
        self.span: tuple[float, float] | None = None  # y range of a sparse series' columns
        # coarse cells: the store column holding the newest sample, (index, min, max)
        self.tail: tuple[int, float, float] | None = None

    def consumed(self, buf: SeriesBuffer) -> None:
        """Everything the series holds is in the cells now."""
        self.buf, self.total, self.count = buf, buf.raw.total, buf.count
        self.late, self.last_time = buf.late, buf.last_time


def _fine(width: float, cw: float) -> bool:
    return width <= cw * (1 + 1e-12)


def _tail(env: Envelope, width: float, newest: float) -> tuple[int, float, float] | None:
    """The store column (of `width`) holding the newest sample, from a fetched envelope."""
    if not len(env.x) or not math.isfinite(newest):
        return None
    q = column_of_time(newest, width)
    i = int(np.searchsorted(env.x, (q + 0.5) * width))
    if i < len(env.x) and env.x[i] == (q + 0.5) * width:
        return q, float(env.ymin[i]), float(env.ymax[i])
    return None


def fetch_full(store: SeriesStore, feed: Feed, cache: ColumnCache, grid: Grid) -> None:
    """The whole window, as a fresh render fetches it. A sparse series (a line) is not kept in
    the cache: it is fetched whole every frame anyway, for its line; `feed.span` is then the
    y range of its columns."""
    buf = store.buffer(feed.key)
    env = store.envelope(feed.key, grid.t0, grid.t1, grid.ncols)
    j, lo, hi = image_columns(env, grid)
    if is_dense(j):
        cache.write(feed.slot, 0, j, lo, hi)
        feed.span = None
    else:
        if cache.present[feed.slot]:
            cache.clear(feed.slot)
        span = float(np.fmin.reduce(lo)) if len(lo) else math.nan
        feed.span = None if math.isnan(span) else (span, float(np.fmax.reduce(hi)))
    feed.ew = grid.cw if _fine(env.width, grid.cw) else env.width
    feed.env = env
    feed.consumed(buf)
    feed.tail = _tail(env, feed.ew, feed.last_time) if feed.ew != grid.cw else None


def fetch_from(store: SeriesStore, feed: Feed, cache: ColumnCache, grid: Grid, t: float) -> bool:
    """Replace the columns holding samples from time `t` on; False if the store now serves a
    different column width (the caller then fetches the whole window)."""
    buf, ew, cw = store.buffer(feed.key), feed.ew, grid.cw
    if cw < bucket_width(0):  # raw columns: a sample filed by its level-0 bucket, to be safe
        t -= bucket_width(0)
    coarse = not _fine(ew, cw)
    q = column_of_time(t, ew)  # in the store's columns; coarse ones overlap two image columns:
    start = (q - 1 if coarse else q) * ew  # the one before is fetched too, to rebuild the first
    j0 = column_of_time(q * ew, cw) - grid.first
    if start <= grid.t0 or j0 <= 0:
        return False
    if j0 >= grid.ncols:
        feed.consumed(buf)
        feed.tail = None
        return True
    last = column_of_time(grid.t1, ew) if coarse else grid.first + grid.ncols - 1
    columns = last - round(start / ew) + 1
    env = store.envelope(feed.key, start, (last + 1) * ew, columns)
    if (_fine(env.width, cw) != (not coarse)) or (coarse and env.width != ew):
        return False
    j, lo, hi = image_columns(env, grid)
    keep = j >= j0  # not the neighbour bucket before `start`: part of a column only
    cache.write(feed.slot, j0, j[keep], lo[keep], hi[keep])
    feed.consumed(buf)
    feed.tail = _tail(env, ew, feed.last_time) if coarse else None
    return True


def scan(
    store: SeriesStore,
    order: list[Feed],
    dense: list[bool],
    refresh: set[int],
    ahead: float,
    cw: float,
) -> tuple[list[Feed], list[tuple[Feed, float]], NewSamples, float]:
    """What each series needs this frame: (whole window, [(feed, from time)], new samples,
    newest sample time). One pass over every series, so every line here counts ~1 us a frame
    per 1,000 series; the raw rows of series with a few new samples are gathered on the way.
    `ahead`: the time from which columns scrolled into view this frame (inf: none)."""
    full, partial, batch = [], [], NewSamples()
    newest = -math.inf
    buffer = store.buffer
    for i, f in enumerate(order):
        f.env = None
        buf = buffer(f.key)
        if buf.last_time > newest:
            newest = buf.last_time
        if buf is not f.buf or not dense[f.slot] or i in refresh:
            full.append(f)
            continue
        raw, coarse = buf.raw, f.ew != cw
        # data in columns that just scrolled in: samples (the store has them, reduced), or
        # the coarse column of the newest sample reaching there (its tail fills them)
        beyond = f.last_time >= ahead
        tail = coarse and not beyond and f.last_time + f.ew > ahead
        total = raw.total
        if total == f.total and not beyond and not tail:
            continue
        new = total - f.total
        end = raw.end  # rows f.total.. are raw.end - new .. raw.end, unless the ring lost some
        if buf.late != f.late:
            full.append(f)
        elif (
            beyond
            or (tail and f.tail is None)
            or new > RAW_MAX  # the store's reduced columns are cheaper
            or end - new < raw.start  # the ring lost rows
            or buf.count - f.count != new  # or never held them: a chunk longer than the ring
        ):
            partial.append((f, min(ahead, f.last_time)))
        else:
            batch.times.append(raw.columns[0][end - new : end])
            batch.values.append(raw.columns[1][end - new : end])
            batch.prev.append(f.last_time)
            batch.feeds.append(f)
            f.total, f.count, f.last_time = total, buf.count, buf.last_time
    return full, partial, batch, newest


class NewSamples:
    """Samples read from raw rings, per series, for one merge (strip_merge)."""

    def __init__(self):
        self.feeds: list[Feed] = []
        self.times: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.prev: list[float] = []  # each series' newest sample before these
