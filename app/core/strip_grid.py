"""Image columns in time: the grid a strip image is drawn on, and the store's columns mapped
onto it exactly.

Image column j is the time bucket [(first + j) * cw, (first + j + 1) * cw): the store's own
envelope columns (whole numbers of power-of-two buckets, aligned to absolute time), so each
column holds the exact min/max of its samples. Every column index here is computed in integers
from power-of-two scalings, never by dividing by a width of 3 buckets, so a sample on a column
boundary lands in the same column as the store puts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.core.pyramid import bucket_width, column_width, group, level_for
from app.core.store import Envelope


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


def column_index(t: np.ndarray, width: float) -> np.ndarray:
    """floor(t / width) for a column width the store uses (m power-of-two buckets, m >= 1, or a
    power of two below the finest bucket), exactly: floor(t / bucket) // m in integers."""
    if width < bucket_width(0):
        bucket, m = width, 1
    else:
        bucket = bucket_width(level_for(width))
        m = round(width / bucket)
    return np.floor(np.asarray(t, dtype=np.float64) * (1.0 / bucket)).astype(np.int64) // m


def column_of_time(t: float, width: float) -> int:
    return int(column_index(np.array([t]), width)[0])


def overlapped(x: np.ndarray, width: float, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) image column overlapped by each store column of centre x. Exact: the
    edges x -/+ width/2 are whole multiples of a power of two, and a quotient of two such that
    is not a whole number is at least 1/m away from one (m <= 4 buckets a column)."""
    half = 0.5 * width
    first = np.floor((x - half) / grid.cw).astype(np.int64) - grid.first
    last = np.ceil((x + half) / grid.cw).astype(np.int64) - grid.first - 1
    return first, np.maximum(last, first)


def image_columns(env: Envelope, grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(j, lo, hi): the exact min/max of each image column the envelope touches, j sorted.

    Envelope columns narrower than the grid's are merged; wider ones (a coarser level, used
    where the fine one has forgotten old data) cover every image column they span."""
    if not len(env.x):
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    if env.width == grid.cw:  # the grid's own columns: x = (column + 1/2) * cw, exactly
        j = (env.x / grid.cw - 0.5).astype(np.int64) - grid.first
        a, b = np.searchsorted(j, (0, grid.ncols))
        return j[a:b], env.ymin[a:b], env.ymax[a:b]
    first, last = overlapped(env.x, env.width, grid)
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
    """Columns mostly side by side: draw a band. Otherwise (a slow series), a line. (The
    renderer keeps the same two counts per series incrementally: strip_columns.)"""
    return len(j) >= 3 and np.count_nonzero(np.diff(j) == 1) >= 0.9 * (len(j) - 1)


def envelope_line(env: Envelope) -> tuple[np.ndarray, np.ndarray]:
    """A sparse series' polyline: raw samples as they are; columns as min then max; a NaN at
    each gap (a stop between two runs), which the curve is not drawn across."""
    if env.is_raw:
        x, y = env.x, env.ymin
    else:
        y = np.empty(2 * len(env.x))
        y[0::2], y[1::2] = env.ymin, env.ymax
        x = np.repeat(env.x, 2)
    if env.gaps:
        at = np.searchsorted(x, env.gaps)
        x, y = np.insert(x, at, env.gaps), np.insert(y, at, math.nan)
    return x, y
