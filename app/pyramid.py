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

from app.sliding import SlidingArrays

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


class Level:
    """The newest `capacity` buckets of one level: columns index, min, max."""

    def __init__(self, capacity: int):
        self.rows = SlidingArrays(capacity, np.int64, np.float64, np.float64)

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
    """Level 0 is updated on every append; coarser levels are brought up to date lazily, from
    level 0's new buckets, before a read or before level 0 would forget them. Doing the upper
    levels per append cost ~13 small numpy calls per batch, most of the append time."""

    def __init__(self, capacity: int = 8192, levels: int = LEVELS):
        self.levels = [Level(capacity) for _ in range(levels)]
        self._synced_from: int | None = None  # first level-0 bucket not yet passed upwards
        self._unsynced = 0

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
        self.levels[0].merge(idx, mn, mx)
        if self._synced_from is None:
            self._synced_from = int(idx[0])
        self._unsynced += len(idx)
        if self._unsynced > self.levels[0].rows.capacity // 2:
            self.sync()
        return late

    def sync(self) -> None:
        """Pass level 0's buckets since the last sync up through every coarser level."""
        if self._synced_from is None:
            return
        idx, mn, mx = self.levels[0].window(self._synced_from, self.levels[0].last_index)
        keep = idx >= self._synced_from  # window() adds a neighbour on each side
        idx, mn, mx = idx[keep], mn[keep], mx[keep]
        self._synced_from, self._unsynced = int(idx[-1]), 0  # the open bucket may still grow
        for level in self.levels[1:]:
            idx, mn, mx = group(idx >> 2, mn, mx)
            level.merge(idx, mn, mx)

    def envelope(self, t0: float, t1: float, columns: int):
        """(x, ymin, ymax) per column for the time span [t0, t1], at most ~`columns` columns.

        x is the column's centre. Each column is a whole number of buckets, aligned to
        absolute time, so its min/max are exact for the samples inside it."""
        width = max((t1 - t0) / max(columns, 1), bucket_width(0))
        k = min(int(math.log(width / bucket_width(0), 4)), len(self.levels) - 1)
        while k < len(self.levels) - 1 and not self.levels[k].covers(
            math.floor(t0 / bucket_width(k))
        ):
            k += 1
        if k > 0:
            self.sync()
        b = bucket_width(k)
        m = max(1, math.ceil(width / b - 1e-9))
        idx, mn, mx = self.levels[k].window(math.floor(t0 / b), math.floor(t1 / b))
        if not len(idx):
            empty = np.empty(0)
            return empty, empty, empty
        cols, cmn, cmx = group(idx // m, mn, mx)
        return (cols + 0.5) * (m * b), cmn, cmx
