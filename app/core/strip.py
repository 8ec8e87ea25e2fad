"""The strip-chart image: dense series rasterised with numpy, scrolled instead of redrawn, and
kept per series so that a frame costs O(new columns x series), not O(window x series).

Painting dense min/max columns as Qt line segments costs ~5 ns per pixel on the GUI thread,
and noisy data covers much of the plot: 8 noisy series took 12-30 ms a frame. Here the image
is built on the consumer thread (numpy releases the GIL for the large operations), in *column
space* (strip_grid): image column j is the time bucket [(first + j) * cw, (first + j + 1) * cw),
exactly the store's envelope columns, so each column holds the exact min/max of its samples.

Fetching each series' whole window every frame cost ~200 us per series (21 ms a frame for 100
series, 210 ms for 1,000). So every series' columns are kept across frames (strip_columns): a
scroll shifts them, and only what is new is read from the store (strip_feed): the samples since
the last frame, or the newest columns. The y extent is one reduction over per-column aggregates;
stretching and painting (strip_paint) are vectorised over all series and only touch columns
that changed, that scrolled in, or whose left neighbour changed. Everything the cache holds is
what a fresh render would fetch; to catch whatever could still slip past (a level forgetting
the start of the window, so the store now serves coarser columns), every series is fetched
whole again within FULL_RENDER_EVERY_S, a rotating slice of them each frame, so no frame pays
for all of them. The image is redrawn from scratch when its geometry or y range changes, and
refetched whole when the column width or width in columns changes, or time jumps back.

Measured (benchmarks/render_scale.py: 30 s at 1258 x 496 px, 40 fps, CPU per frame, median):
1,000 series at 100/s 213 -> 5.7 ms; 100 at 100/s 21 -> 1.4 ms; 8 at 1.25M/s 2.4 -> 1.7 ms;
the default session 0.85 -> 0.73 ms. A full render of 1,000 series: 219 -> 154 ms (the store's
envelopes); a new y range alone repaints them from the cache in 38 ms.

No Qt here: the chart wraps the finished uint32 array in a QImage (ARGB32 premultiplied).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from itertools import compress

import numpy as np

from app.core.frames import Frame, FrameRequest
from app.core.store import SeriesKey, SeriesStore
from app.core.strip_columns import ColumnCache
from app.core.strip_feed import Feed, fetch_from, fetch_full, scan
from app.core.strip_grid import Grid, envelope_line, grid_for, image_columns, is_dense
from app.core.strip_merge import merge_new_samples
from app.core.strip_paint import paint_columns

__all__ = ["FULL_RENDER_EVERY_S", "Grid", "StripFrame", "StripRenderer", "grid_for"]
__all__ += ["image_columns", "is_dense"]

FULL_RENDER_EVERY_S = 2.0  # every series is fetched whole again within this period
POOL = 3
CHUNK_CELLS = 1 << 16  # painted in blocks of about this many cells: 2x faster than at once
LOG_FLOOR = 1e-300  # what a value at or below 0 is drawn as on a log axis
BANDS_MAX = 32  # frames list `bands` up to this many dense series (1,000 would cost ms)


@dataclass
class StripFrame:
    image: np.ndarray  # (height, ncols) uint32, ARGB32 premultiplied, row 0 at y0
    grid: Grid
    bands: dict[SeriesKey, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )  # per dense series (epoch x of column centres, lo, hi) as drawn, for tests and tools:
    # only while there are at most BANDS_MAX dense series (`dense` names them all)
    lines: dict[SeriesKey, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    extent: tuple[float, float] = (math.inf, -math.inf)  # y range of the data in view
    newest: float | None = None
    full: bool = True  # every column painted afresh (vs. scrolled and updated)
    dense: tuple[SeriesKey, ...] = ()  # the series in the image, in paint order
    refreshed: int = 0  # series fetched whole this frame by the rolling refresh


def log_low(values: np.ndarray) -> np.ndarray:
    """log10 of a column's low end: at or below 0 it reaches the bottom of a log axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.maximum(values, LOG_FLOOR))


def log_high(values: np.ndarray) -> np.ndarray:
    """log10 of a value or a column's high end; NaN (not drawn) at or below 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log10(np.maximum(values, LOG_FLOOR)), np.nan)


def log_extent(lo: float, hi: float) -> tuple[float, float]:
    """The data's extent in decades; nothing above 0: no extent (a log axis cannot show it)."""
    if not hi > 0:
        return (math.inf, -math.inf)
    top = math.log10(hi)
    bottom = math.log10(lo) if lo > 0 else top - 3  # values at or below 0: three decades
    return (min(bottom, top), top)


class StripRenderer:
    """Keeps the last image and every drawn series' columns; see the module docstring."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._cache: ColumnCache | None = None
        self._feeds: dict[SeriesKey, Feed] = {}
        self._keys: list[SeriesKey] | None = None  # None: to be built
        self._order: list[Feed] = []  # drawn series in store order: paint order
        self._colors: dict[SeriesKey, int] = {}
        self._slots = np.zeros(0, np.int64)  # per series in paint order: its row in the cache
        self._palette = np.zeros(0, np.uint32)  # and its colour
        self._painted = np.zeros(0, bool)  # per slot: in the last image
        self._grid: Grid | None = None
        self._image: np.ndarray | None = None
        self._pool: list[np.ndarray] = []  # image buffers, reused in turn
        self._last_now: float | None = None
        self._due = 0.0  # series owed a whole fetch by the rolling refresh
        self._turn = 0  # where in the order the rolling refresh goes on
        self._log = False  # values are painted as log10(value)

    def frame(self, store: SeriesStore, request: FrameRequest) -> Frame:
        """The chart's request answered. A renderer keeps every series' columns from one frame
        to the next and reads the samples appended since, without the store's locks: use one
        per chart, on the thread that appends to the store (the consumer), or while nothing
        appends."""
        size = request.image_size()  # device pixels: crisp at any screen scale
        strip = self.render(
            store,
            request.t0,
            request.t1,
            size,
            request.y_range,
            request.colors,
            request.hidden,
            log=request.log,
        )
        return Frame(request, strip)

    def render(
        self,
        store: SeriesStore,
        t0: float,
        t1: float,
        size: tuple[int, int],
        y_range: tuple[float, float],
        colors: dict[SeriesKey, int],
        hidden: frozenset = frozenset(),
        log: bool = False,
    ) -> StripFrame:
        """The image of the series in `colors` (less `hidden`) over [t0, t1] at `size`, y
        within `y_range`; with `log`, y_range is in decades and values are drawn at log10."""
        grid = grid_for(t0, t1, size[0], size[1], *y_range)
        if log != self._log:  # the same numbers mean another range: paint anew
            self._log, self._grid = log, None
        keys = [k for k in store.series_keys() if k not in hidden and k in colors]
        cache, shift = self._cache, -1
        if cache is not None and (cache.cw, cache.ncols) == (grid.cw, grid.ncols):
            shift = grid.first - cache.first
        scrolled = 0 <= shift < grid.ncols
        ahead = math.inf  # data from here on was beyond the window until now
        if scrolled:
            ahead = (cache.first + cache.ncols) * grid.cw if shift else math.inf
            cache.begin(shift)
        else:
            self._cache = ColumnCache(grid.cw, grid.first, grid.ncols, len(keys))
            self._feeds, self._keys, self._order, self._colors = {}, None, [], {}
            self._due, self._turn, self._painted = 0.0, 0, np.zeros(0, bool)
        self._sync(keys, colors)
        frame = StripFrame(self._buffer((grid.height, grid.ncols)), grid)
        dense = self._update(store, grid, ahead, frame)
        frame.extent = self._cache.extent()
        self._paint(frame, dense, shift if scrolled else -1)
        return frame

    def _buffer(self, shape: tuple[int, int]) -> np.ndarray:
        """The next of three image buffers. Reusing them avoids allocating ~3 MB per frame
        (glibc then serves such blocks from its heap, and RSS crept up over minutes). A
        frame's image stays valid until two more frames have been rendered: the chart shows
        one and has at most one more in flight."""
        if not self._pool or self._pool[0].shape != shape:
            self._pool = [np.zeros(shape, np.uint32) for _ in range(POOL)]
        self._pool.append(self._pool.pop(0))
        return self._pool[-1]

    def _sync(self, keys: list[SeriesKey], colors: dict[SeriesKey, int]) -> None:
        """Follow the drawn series (store order) and their colours; what leaves is unpainted."""
        cache = self._cache
        if keys != self._keys:
            wanted = set(keys)
            for key in [k for k in self._feeds if k not in wanted]:
                slot = self._feeds.pop(key).slot
                cache.remove_row(slot)  # its columns are repainted without it
                if slot < len(self._painted):
                    self._painted[slot] = False
            for key in keys:
                if key not in self._feeds:
                    self._feeds[key] = Feed(key, cache.add_row(), colors[key])
            self._keys, self._order = keys, [self._feeds[k] for k in keys]
            self._slots = np.fromiter((f.slot for f in self._order), np.int64, len(keys))
            self._colors = {}
        if colors != self._colors:
            for f in self._order:
                if colors[f.key] != f.color:
                    f.color = colors[f.key]
                    cache.mark(f.slot)
            self._colors = dict(colors)
            self._palette = np.fromiter((f.color for f in self._order), np.uint32, len(keys))

    def _update(self, store: SeriesStore, grid: Grid, ahead: float, frame: StripFrame):
        """Bring every drawn series' cells up to date; returns the dense flag per slot."""
        cache, order, cw = self._cache, self._order, grid.cw
        now = self._clock()
        n = len(order)
        if self._last_now is not None and n:
            self._due = min(self._due + n * max(now - self._last_now, 0.0) / FULL_RENDER_EVERY_S, n)
        self._last_now = now
        due = int(self._due)
        self._due -= due
        refresh = {(self._turn + i) % n for i in range(due)}
        self._turn = (self._turn + due) % n if n else 0
        frame.refreshed = due
        full, partial, batch, newest = scan(
            store, order, cache.dense().tolist(), refresh, ahead, cw
        )
        if batch.feeds:
            full += merge_new_samples(batch, cache, grid)
        full += [f for f, t in partial if not fetch_from(store, f, cache, grid, t)]
        for f in full:
            fetch_full(store, f, cache, grid)
        dense = cache.dense()
        lines = [f for f in order if not dense[f.slot] and f.env is None]  # need an envelope
        for f in lines:
            fetch_full(store, f, cache, grid)
        if lines:
            dense = cache.dense()
        if math.isfinite(newest):
            frame.newest = newest
        return dense

    def _paint(self, frame: StripFrame, dense: np.ndarray, shift: int) -> None:
        """Repaint what changed (all of it when the image's geometry or y range changed)."""
        cache, grid, image = self._cache, frame.grid, frame.image
        banded = dense[self._slots]  # per series in paint order
        rows, colors = self._slots[banded], self._palette[banded]
        painted, before = np.zeros(len(dense), bool), np.zeros(len(dense), bool)
        painted[rows] = True
        before[: len(self._painted)] = self._painted  # rows are only ever added
        for slot in np.flatnonzero(painted != before):  # became a band, or a line
            cache.mark(int(slot))
        self._painted = painted
        if shift >= 0 and grid.same_shape(self._grid) and self._image is not None:
            keep = grid.ncols - shift
            image[:, :keep] = self._image[:, shift:]  # a different buffer (see _buffer)
            todo = cache.dirty.copy()
            todo[1:] |= cache.dirty[:-1]  # a column reaches to its left neighbour's range
            todo[keep:] = True  # scrolled in
            todo[0] |= shift > 0  # its left neighbour scrolled out: now drawn unstretched
            frame.full = False
        else:
            todo = np.ones(grid.ncols, bool)
        chunk = max(CHUNK_CELLS // max(len(rows), 1), 16)  # blocks that stay in the cache
        cols = np.flatnonzero(todo)
        for c in range(0, len(cols), chunk):
            lo, hi = cache.stretched(rows, cols[c : c + chunk])
            if self._log:
                lo, hi = log_low(lo), log_high(hi)
            paint_columns(image, grid, cols[c : c + chunk], lo, hi, colors)
        frame.dense = tuple(compress(self._keys, banded.tolist()))
        if len(rows) <= BANDS_MAX:
            frame.bands = dict(zip(frame.dense, cache.bands(rows), strict=True))
        lines = [self._order[i] for i in np.flatnonzero(~banded).tolist()]
        frame.lines = {f.key: envelope_line(f.env) for f in lines}
        spans = [f.span for f in lines if f.span is not None]  # lines are not in the cache
        if spans:
            lo, hi = zip(*spans, strict=True)
            frame.extent = (min(frame.extent[0], *lo), max(frame.extent[1], *hi))
        if self._log:
            frame.lines = {k: (x, log_high(y)) for k, (x, y) in frame.lines.items()}
            frame.extent = log_extent(*frame.extent)
        self._grid, self._image = grid, image
