"""A min/max pyramid: what makes a frame cost O(pixels) instead of O(samples).

Level k holds min and max per time bucket of width 2**(-14 + 2k) s (61 us, 244 us, ... 17 min),
buckets aligned to absolute time. Appending n samples costs O(n) once; a frame then reads at
most a few thousand buckets from the level whose width fits a pixel column, whatever the rate
or the window. Columns are whole multiples of a bucket and aligned to absolute time, so each
drawn column is the *exact* min/max of the samples in its interval (peaks never vanish) and
the picture does not shimmer as the window scrolls.

Each level keeps only its most recent `capacity` buckets, so memory is fixed per series:
fine levels cover recent data at full resolution, coarse levels cover long history.
"""

from __future__ import annotations

import math

import numpy as np

from app.core.sliding import SlidingArrays

LEVEL0_EXP = -14
LEVELS = 13


def bucket_width(level: int) -> float:
    return math.ldexp(1.0, LEVEL0_EXP + 2 * level)


def run_starts(idx: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values starts in the sorted array `idx`."""
    span = int(idx[-1] - idx[0])
    if span * 8 < len(idx):  # few long runs: O(runs log n) beats a pass over every sample
        starts = np.searchsorted(idx, np.arange(idx[0] + 1, idx[-1] + 1))
        keep = np.empty(len(starts), bool)
        keep[0] = True
        np.not_equal(starts[1:], starts[:-1], out=keep[1:])
        return np.concatenate(([0], starts[keep]))
    starts = np.flatnonzero(idx[1:] != idx[:-1])
    starts += 1
    return np.concatenate(([0], starts))


def group(idx: np.ndarray, mn: np.ndarray, mx: np.ndarray):
    """Collapse runs of equal (sorted) bucket indices to one min/max each (NaN-ignoring)."""
    if idx[0] == idx[-1]:
        return idx[:1], np.fmin.reduce(mn, keepdims=True), np.fmax.reduce(mx, keepdims=True)
    starts = run_starts(idx)
    return idx[starts], np.fmin.reduceat(mn, starts), np.fmax.reduceat(mx, starts)


def bucket_indices(times: np.ndarray, level: int) -> np.ndarray:
    """floor(t / width), exact: the width is a power of two. Epoch times are positive, so a
    truncating cast is a floor."""
    return (times * (1.0 / bucket_width(level))).astype(np.int64)


def level_for(width: float, levels: int = LEVELS) -> int:
    """The coarsest level whose buckets are no wider than `width` (a column, in seconds)."""
    return min(max(int(math.log(width / bucket_width(0), 4)), 0), levels - 1)


def column_width(width: float, levels: int = LEVELS) -> float:
    """The exact column width an envelope uses for columns of about `width` seconds: a whole
    number of buckets (the same arithmetic as Pyramid.envelope, before any coverage fallback)."""
    width = max(width, bucket_width(0))
    b = bucket_width(level_for(width, levels))
    return max(1, math.ceil(width / b - 1e-9)) * b


class Level:
    """The newest `capacity` buckets of one level: columns index, min, max."""

    def __init__(self, capacity: int):
        self.rows = SlidingArrays(capacity, np.int64, np.float64, np.float64)
        self.changed = False  # merged into since the level above last looked

    @property
    def nbytes(self) -> int:
        return self.rows.nbytes

    @property
    def last_index(self) -> int | None:
        last = self.rows.last(0)
        return None if last is None else int(last)

    def merge(self, idx: np.ndarray, mn: np.ndarray, mx: np.ndarray) -> None:
        """Add buckets with sorted unique indices >= the last one held."""
        rows = self.rows
        self.changed = True
        if len(rows) and idx[0] == rows.columns[0][rows.end - 1]:
            j = rows.end - 1
            rows.columns[1][j] = np.fmin(rows.columns[1][j], mn[0])
            rows.columns[2][j] = np.fmax(rows.columns[2][j], mx[0])
            idx, mn, mx = idx[1:], mn[1:], mx[1:]
        if len(idx):
            rows.append(idx, mn, mx)

    def window(self, lo: int, hi: int):
        """Buckets with lo <= index <= hi, plus one neighbour each side (lines reach the edges)."""
        s = self.rows.slice_between(0, lo, hi)
        return tuple(c[s] for c in self.rows.columns)

    def covers(self, index: int) -> bool:
        return self.rows.covers(0, index)


class Pyramid:
    """Level 0 is updated on every append; each coarser level is brought up to date lazily,
    from the level below, only when a read needs it or before the level below would forget
    buckets it has not passed on. A frame showing 30 s reads level ~3, so levels 4..12 cost
    nothing per batch; doing every level per append was most of the append time."""

    def __init__(self, capacity: int = 8192, levels: int = LEVELS):
        self.levels = [Level(capacity) for _ in range(levels)]
        self._capacity = capacity
        # per level j: absolute row number of the first bucket not yet passed up to level j+1
        # (rows are appended in order, so no search is needed), and how many were added since
        self._pending_from = [0] * levels
        self._pending = [0] * levels
        self.last_column_width = 0.0  # of the last envelope: m * bucket width, seconds

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self.levels)

    def append(self, times: np.ndarray, values: np.ndarray, ordered: bool = False) -> int:
        """Add samples (times in epoch seconds). Returns how many arrived out of order; those are
        kept, in the newest bucket at the time they arrived. `ordered` skips the check."""
        if not len(times):
            return 0
        idx = bucket_indices(times, 0)
        last = self.levels[0].last_index
        late = 0
        if (last is not None and idx[0] < last) or (not ordered and np.any(idx[1:] < idx[:-1])):
            before = idx.copy()
            if last is not None:
                np.maximum(idx, last, out=idx)
            np.maximum.accumulate(idx, out=idx)
            late = int(np.count_nonzero(idx != before))
        idx, mn, mx = group(idx, values, values)
        self._merge(0, idx, mn, mx)
        return late

    def _merge(self, level: int, idx: np.ndarray, mn: np.ndarray, mx: np.ndarray) -> None:
        """Merge into `level` in pieces of half a level, passing buckets up whenever half a
        level is pending: no level ever forgets a bucket the level above has not seen, however
        many buckets one append (or one propagation of sparse data) brings."""
        step = max(self._capacity // 2, 1)
        for i in range(0, len(idx), step):
            piece = idx[i : i + step]
            self.levels[level].merge(piece, mn[i : i + step], mx[i : i + step])
            self._added(level, piece)
            if level < len(self.levels) - 1 and self._pending[level] >= step:
                self._propagate(level)

    def sync(self, upto: int | None = None) -> None:
        """Bring levels 1..`upto` (default: all) up to date with level 0."""
        upto = len(self.levels) - 1 if upto is None else upto
        for j in range(upto):
            self._propagate(j)

    def _added(self, level: int, idx: np.ndarray) -> None:
        self._pending[level] += len(idx)

    def _propagate(self, j: int) -> None:
        """Pass level j's buckets since the last time up into level j+1."""
        level = self.levels[j]
        if not level.changed:
            return
        level.changed = False
        rows = level.rows
        s = rows.since(self._pending_from[j])
        idx, mn, mx = rows.columns[0][s], rows.columns[1][s], rows.columns[2][s]
        if not len(idx):
            return
        self._pending_from[j], self._pending[j] = rows.total - 1, 0  # the last may still grow
        idx, mn, mx = group(idx >> 2, mn, mx)
        self._merge(j + 1, idx, mn, mx)

    def envelope(self, t0: float, t1: float, columns: int):
        """(x, ymin, ymax) per column for the time span [t0, t1], at most ~`columns` columns.

        x is the column's centre. Each column is a whole number of buckets, aligned to
        absolute time, so its min/max are exact for the samples inside it."""
        width = max((t1 - t0) / max(columns, 1), bucket_width(0))
        k = level_for(width, len(self.levels))
        while True:
            b = bucket_width(k)
            m = max(1, math.ceil(width / b - 1e-9))
            first = math.floor(t0 / b) // m * m  # the first bucket of the first column
            self.sync(k)  # levels 1..k only: coarser ones are not read by this frame
            if k == len(self.levels) - 1 or self.levels[k].covers(first):
                break
            k += 1
        self.last_column_width = m * b
        last = math.floor(t1 / b) // m * m + m - 1  # the last bucket of the last column
        idx, mn, mx = self.levels[k].window(first, last)
        if not len(idx):
            empty = np.empty(0)
            return empty, empty, empty
        cols, cmn, cmx = group(idx // m, mn, mx)
        return (cols + 0.5) * (m * b), cmn, cmx
