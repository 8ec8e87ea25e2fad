"""The strip-chart image: dense series rasterised with numpy, scrolled instead of redrawn.

Painting dense min/max columns as Qt line segments costs ~5 ns per pixel on the GUI thread,
and noisy data covers much of the plot: 8 noisy series took 12-30 ms a frame. Here the image
is built on the consumer thread (numpy releases the GIL for the large operations), in *column
space*: image column j is the time bucket [(first + j) * cw, (first + j + 1) * cw), exactly the
store's envelope columns, so each column holds the exact min/max of its samples. While the view
scrolls, the previous image is shifted by whole columns and only the columns that can have
changed (from each series' newest sample at the last render) are drawn again: a frame costs
O(new columns x height), not O(width x height). A full render happens when the geometry, the y
range or the series change, and every couple of seconds to pick up late or out-of-order data.

No Qt here: the chart wraps the finished uint32 array in a QImage (ARGB32 premultiplied).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from app.core.pyramid import bucket_width, column_width, group
from app.core.store import Envelope, SeriesKey, SeriesStore

FULL_RENDER_EVERY_S = 2.0
POOL = 3


@dataclass(frozen=True)
class Grid:
    """Where the image sits: columns of `cw` seconds from absolute column `first`, rows from
    y0 (row 0, bottom) to y1 (row `height`, top)."""

    cw: float
    first: int
    ncols: int
    height: int
    y0: float
    y1: float

    @property
    def t0(self) -> float:
        return self.first * self.cw

    @property
    def t1(self) -> float:
        return (self.first + self.ncols) * self.cw

    def same_shape(self, other: Grid | None) -> bool:
        return other is not None and (self.cw, self.ncols, self.height, self.y0, self.y1) == (
            other.cw,
            other.ncols,
            other.height,
            other.y0,
            other.y1,
        )


def grid_for(t0: float, t1: float, width: int, height: int, y0: float, y1: float) -> Grid:
    """Columns of the store's exact width, about one per pixel, covering [t0, t1]."""
    span = max(t1 - t0, 1e-9)
    per_pixel = span / max(width, 1)
    if per_pixel < bucket_width(0):  # zoomed in below the pyramid: raw samples, 2**n columns
        cw = math.ldexp(1.0, math.ceil(math.log2(per_pixel)))
    else:
        cw = column_width(per_pixel)
    first = math.floor(t0 / cw)
    return Grid(cw, first, math.floor(t1 / cw) - first + 1, max(height, 1), y0, y1)


def image_columns(env: Envelope, grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(j, lo, hi): the exact min/max of each image column the envelope touches, j sorted.

    Envelope columns narrower than the grid's are merged; wider ones (a coarser level, used
    where the fine one has forgotten old data) cover every image column they span."""
    if not len(env.x):
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    half = 0.5 * env.width
    first = np.floor((env.x - half) / grid.cw).astype(np.int64) - grid.first
    last = np.ceil((env.x + half) / grid.cw).astype(np.int64) - grid.first - 1
    last = np.maximum(last, first)
    spans = last - first + 1
    if spans.max() > 1:  # coarse columns: repeat each over the image columns it covers
        offsets = np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
        j = np.repeat(first, spans) + offsets
        lo, hi = np.repeat(env.ymin, spans), np.repeat(env.ymax, spans)
    else:
        j, lo, hi = first, env.ymin, env.ymax
    inside = (j >= 0) & (j < grid.ncols)
    j, lo, hi = j[inside], lo[inside], hi[inside]
    if not len(j):
        return j, lo, hi
    return group(j, lo, hi)


def is_dense(j: np.ndarray) -> bool:
    """Columns mostly side by side: draw a band. Otherwise (a slow series), a line."""
    return len(j) >= 3 and np.count_nonzero(np.diff(j) == 1) >= 0.9 * (len(j) - 1)


def stretch(j: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reach each column's range to its left neighbour's, so the band reads as a continuous
    trace where the signal jumps between columns (the same pixels a line would cover)."""
    lo, hi = lo.copy(), hi.copy()
    adjacent = np.flatnonzero(np.diff(j) == 1) + 1
    adjacent = adjacent[~np.isnan(lo[adjacent])]  # a column of NaN only stays empty
    prev_lo, prev_hi = lo[adjacent - 1].copy(), hi[adjacent - 1].copy()
    lo[adjacent] = np.fmin(lo[adjacent], prev_hi)  # not out=lo[adjacent]: that is a copy
    hi[adjacent] = np.fmax(hi[adjacent], prev_lo)
    return lo, hi


def paint(image: np.ndarray, grid: Grid, j, lo, hi, color: int) -> None:
    """Fill each column j from row(lo) to row(hi) with `color` (clipped to the image)."""
    ok = np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return
    j, lo, hi = j[ok], lo[ok], hi[ok]
    scale = grid.height / (grid.y1 - grid.y0)
    r_lo = np.floor((lo - grid.y0) * scale)
    r_hi = np.floor((hi - grid.y0) * scale)
    visible = (r_hi >= 0) & (r_lo < grid.height)
    if not visible.any():
        return
    j = j[visible]
    r_lo = np.clip(r_lo[visible], 0, grid.height - 1).astype(np.int32)
    r_hi = np.clip(r_hi[visible], 0, grid.height - 1).astype(np.int32)
    j0, j1 = int(j[0]), int(j[-1]) + 1
    r0, r1 = int(r_lo.min()), int(r_hi.max()) + 1
    # per image column in [j0, j1): the span to fill, empty (lo > hi) where no data
    col_lo = np.full(j1 - j0, grid.height, np.int32)
    col_hi = np.full(j1 - j0, -1, np.int32)
    col_lo[j - j0], col_hi[j - j0] = r_lo, r_hi
    rows = np.arange(r0, r1, dtype=np.int32)[:, None]
    mask = (rows >= col_lo) & (rows <= col_hi)
    np.copyto(image[r0:r1, j0:j1], np.uint32(color), where=mask)


@dataclass
class StripFrame:
    image: np.ndarray  # (height, ncols) uint32, ARGB32 premultiplied, row 0 at y0
    grid: Grid
    bands: dict[SeriesKey, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )  # per dense series (epoch x of column centres, lo, hi) as drawn: tests and tools
    lines: dict[SeriesKey, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    extent: tuple[float, float] = (math.inf, -math.inf)  # y range of the data in view
    newest: float | None = None
    full: bool = True  # redrawn from scratch (vs. scrolled and updated)


class StripRenderer:
    """Keeps the last image and what it showed; see the module docstring."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._grid: Grid | None = None
        self._image: np.ndarray | None = None
        self._series: tuple = ()  # (key, color) drawn as bands, in paint order
        self._rendered_to: dict[SeriesKey, float] = {}  # newest sample at the last render
        self._series_all: tuple = ()  # (key, color) of every series drawn, bands or lines
        self._pool: list[np.ndarray] = []  # image buffers, reused in turn
        self._last_full = -math.inf

    def render(
        self,
        store: SeriesStore,
        t0: float,
        t1: float,
        size: tuple[int, int],
        y_range: tuple[float, float],
        colors: dict[SeriesKey, int],
        hidden: frozenset = frozenset(),
    ) -> StripFrame:
        grid = grid_for(t0, t1, size[0], size[1], *y_range)
        keys = [k for k in store.series_keys() if k not in hidden and k in colors]
        wanted = tuple((k, colors[k]) for k in keys)
        envelopes = self._envelopes(store, keys, grid, grid.t0)
        frame = StripFrame(self._buffer((grid.height, grid.ncols)), grid)
        dense = [k for k in keys if is_dense(envelopes[k][0])]
        spans = {k: (envelopes[k][0], *stretch(*envelopes[k][:3])) for k in dense}
        shift = grid.first - self._grid.first if self._grid is not None else -1
        scrolled = (
            grid.same_shape(self._grid)
            and 0 <= shift < grid.ncols
            and wanted == self._series_all
            and tuple(dense) == tuple(k for k, _ in self._series)
            and self._clock() - self._last_full < FULL_RENDER_EVERY_S
        )
        if scrolled:
            self._scroll(frame, shift, envelopes, spans)
        else:
            self._full(frame, spans, colors)
            self._series_all = wanted
        self._finish(frame, keys, envelopes, spans, t0, t1)
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

    def _envelopes(self, store, keys, grid: Grid, start: float) -> dict:
        """Per series: image columns (j, lo, hi) from time `start` to the grid's end."""
        out = {}
        columns = max(round((grid.t1 - start) / grid.cw), 1)
        for key in keys:
            env = store.envelope(key, start, grid.t1, columns)
            j, lo, hi = image_columns(env, grid)
            out[key] = (j, lo, hi, env)
        return out

    def _full(self, frame: StripFrame, spans, colors) -> None:
        frame.image.fill(0)
        for key, (j, lo, hi) in spans.items():
            paint(frame.image, frame.grid, j, lo, hi, colors[key])
        self._series = tuple((k, colors[k]) for k in spans)
        self._last_full = self._clock()
        frame.full = True

    def _scroll(self, frame: StripFrame, shift: int, envelopes, spans) -> None:
        """Reuse the last image moved left by `shift` columns; redraw from the oldest column
        any series may have added samples to since then."""
        grid, image = frame.grid, frame.image
        keep = grid.ncols - shift
        image[:, :keep] = self._image[:, shift:]  # a different buffer (see _buffer)
        redo = keep  # columns scrolled in are blank; and from where each series got new samples:
        for key, _ in self._series:
            before, now = self._rendered_to.get(key, -math.inf), envelopes[key][3].last_time
            if now > before:
                redo = min(
                    redo, math.floor(before / grid.cw) - grid.first if math.isfinite(before) else 0
                )
        redo = max(redo, 0)
        image[:, redo:] = 0
        image[:, 0] = 0  # its left neighbour scrolled out: drawn unstretched, as a full render
        for key, color in self._series:
            j, lo, hi = spans[key]  # stretched over the whole view: the left neighbour is known
            part = j >= redo
            paint(image, grid, j[part], lo[part], hi[part], color)
            if redo > 0 and len(j) and j[0] == 0:
                paint(image, grid, j[:1], lo[:1], hi[:1], color)
        frame.full = False

    def _finish(self, frame: StripFrame, keys, envelopes, spans, t0: float, t1: float) -> None:
        grid = frame.grid
        for key in keys:
            j, lo, hi, env = envelopes[key]
            if math.isfinite(env.last_time):
                self._rendered_to[key] = env.last_time
                frame.newest = max(frame.newest or -math.inf, env.last_time)
            x = (grid.first + j + 0.5) * grid.cw
            if key in spans:
                frame.bands[key] = (x, *spans[key][1:])
            else:
                frame.lines[key] = _line(env)
            # columns overlapping [t0, t1] (a centre test missed the newest samples), with data
            inside = (x + 0.5 * grid.cw > t0) & (x - 0.5 * grid.cw <= t1) & ~np.isnan(lo)
            if inside.any():
                frame.extent = (
                    min(frame.extent[0], float(np.nanmin(lo[inside]))),
                    max(frame.extent[1], float(np.nanmax(hi[inside]))),
                )
        self._grid, self._image = grid, frame.image


def _line(env: Envelope) -> tuple[np.ndarray, np.ndarray]:
    """Raw samples as they are; sparse columns as min then max."""
    if env.is_raw:
        return env.x, env.ymin
    y = np.empty(2 * len(env.x))
    y[0::2], y[1::2] = env.ymin, env.ymax
    return np.repeat(env.x, 2), y
