"""A min/max pyramid: what makes a frame cost O(pixels) instead of O(samples).

Level k holds min and max per time bucket of width 2**(-14 + 2k) s (61 us, 244 us, ... 17 min),
buckets aligned to absolute time. Appending n samples costs O(n) once; a frame then reads at
most a few thousand buckets from the level whose width fits a pixel column, whatever the rate
or the window. Columns are whole multiples of a bucket and aligned to absolute time, so each
drawn column is the *exact* min/max of the samples in its interval (peaks never vanish) and
the picture does not shimmer as the window scrolls.

Each level keeps only its most recent buckets, so memory is bounded per series: fine levels
cover recent data at full resolution, coarse levels cover long history. A fixed pyramid holds
`capacity` buckets per level from the start; a growing one (`initial`, `grow`) starts each level
small and asks its owner before a level would forget buckets (see app.core.store for when it
grows). Either way a read falls back to the next coarser level where a level has forgotten.

What a level is for: a frame asks for at most ~2048 columns, and picks level k for columns of
1 to 4 buckets (m), so level k serves spans up to FULL_SPAN = 8192 of its buckets; with
CORE_SPAN = 4096 it serves every view with m <= 2. A view with m = 3 it does not cover falls back
to level k+1 with columns 4/3 as wide; with m = 4 the fallback columns are the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from app.core.sliding import SlidingArrays

LEVEL0_EXP = -14
LEVELS = 13
CORE_SPAN = 4096  # buckets back from the newest: every view with columns of <= 2 buckets
FULL_SPAN = 8192  # every view that picks the level (columns of up to 4 buckets)


RawColumns = Callable[[int, int, int, int], "tuple[np.ndarray, np.ndarray, np.ndarray] | None"]


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


def level_slack(capacity: int) -> int:
    """Spare rows of a growing level (see app.core.sliding): an eighth, as a level gets at most
    one row per sample and ~16k rows a second at the finest level of a 1 MHz series."""
    return max(capacity // 8, 16)


class Level:
    """The newest `capacity` buckets of one level: columns index, min, max."""

    def __init__(self, capacity: int, slack: int | None = None):
        self.rows = SlidingArrays(capacity, np.int64, np.float64, np.float64, slack=slack)
        self.changed = False  # merged into since the level above last looked
        self.retry_at = 0  # absolute row: do not ask to grow again before it (asked, refused)

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

    def rows_within(self, idx: np.ndarray, span: int) -> int:
        """Rows this level would hold within `span` buckets of the newest, after merging `idx`."""
        lo = int(idx[-1]) - span + 1
        held = self.rows.count_from(0, lo)
        if held and idx[0] == self.rows.columns[0][self.rows.end - 1]:
            held -= 1  # merged into the last row, not a new one
        return held + len(idx) - int(np.searchsorted(idx, lo))


class Pyramid:
    """Level 0 is updated on every append; each coarser level is brought up to date lazily,
    from the level below, only when a read needs it or before the level below would forget
    buckets it has not passed on. A frame showing 30 s reads level ~3, so levels 4..12 cost
    nothing per batch; doing every level per append was most of the append time.

    `capacity` is each level's maximum. With `initial`, levels start at that many buckets and,
    before one would forget a bucket, `grow(k, idx)` is called (k: the level, idx: the buckets
    about to be merged); it may `resize` the level. Without, levels hold `capacity` for good."""

    def __init__(self, capacity: int = 8192, levels: int = LEVELS, initial: int | None = None,
                 grow: Callable[[int, np.ndarray], None] | None = None):  # fmt: skip
        self.capacity = capacity
        if initial is None:  # fixed: as much spare as capacity (one copy per row; see sliding)
            self.levels = [Level(capacity) for _ in range(levels)]
        else:
            start = min(initial, capacity)
            self.levels = [Level(start, level_slack(start)) for _ in range(levels)]
        self.grow = grow
        # per level j: absolute row number of the first bucket not yet passed up to level j+1
        # (rows are appended in order, so no search is needed), and how many were added since
        self._pending_from = [0] * levels
        self._pending = [0] * levels
        self.last_column_width = 0.0  # of the last envelope: m * bucket width, seconds

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self.levels)

    def resize(self, k: int, capacity: int) -> int:
        """Let level k hold `capacity` buckets, keeping all it holds; returns the bytes added."""
        return self.levels[k].rows.resize(capacity, level_slack(capacity))

    def resize_cost(self, k: int, capacity: int) -> int:
        rows = self.levels[k].rows
        return (capacity + level_slack(capacity)) * rows.row_bytes - rows.nbytes

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

    def _merge(self, j: int, idx: np.ndarray, mn: np.ndarray, mx: np.ndarray) -> None:
        """Merge into level j. No level may forget a bucket the level above has not seen: what
        is pending is passed up whenever it reaches half the level, and a merge of more than
        half a level passes everything up at once (after what was pending, to keep the order;
        min and max do not mind a bucket passed up twice)."""
        level = self.levels[j]
        rows = level.rows
        if (
            self.grow is not None
            and len(rows) + len(idx) > rows.capacity < self.capacity
            and rows.total >= level.retry_at
        ):
            self.grow(j, idx)
        step = max(rows.capacity // 2, 1)
        top = j == len(self.levels) - 1
        if len(idx) > step and not top:
            self._propagate(j)
            level.merge(idx, mn, mx)
            level.changed = False
            self._pending_from[j], self._pending[j] = rows.total - 1, 0  # the last may grow
            self._merge(j + 1, *group(idx >> 2, mn, mx))
            return
        level.merge(idx, mn, mx)
        self._pending[j] += len(idx)
        if not top and self._pending[j] >= step:
            self._propagate(j)

    def sync(self, upto: int | None = None) -> None:
        """Bring levels 1..`upto` (default: all) up to date with level 0."""
        upto = len(self.levels) - 1 if upto is None else upto
        for j in range(upto):
            self._propagate(j)

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

    def envelope(self, t0: float, t1: float, columns: int, raw: RawColumns | None = None):
        """(x, ymin, ymax) per column for the time span [t0, t1], at most ~`columns` columns.

        x is the column's centre. Each column is a whole number of buckets, aligned to
        absolute time, so its min/max are exact for the samples inside it. Where the level has
        forgotten the start of the span, `raw(k, m, first, last)` may give the same columns
        from the samples themselves (or None); otherwise the next coarser level is used."""
        width = max((t1 - t0) / max(columns, 1), bucket_width(0))
        k = level_for(width, len(self.levels))
        while True:
            b = bucket_width(k)
            m = max(1, math.ceil(width / b - 1e-9))
            first = math.floor(t0 / b) // m * m  # the first bucket of the first column
            last = math.floor(t1 / b) // m * m + m - 1  # the last bucket of the last column
            self.sync(k)  # levels 1..k only: coarser ones are not read by this frame
            if self.levels[k].covers(first):
                break
            got = raw(k, m, first, last) if raw is not None else None
            if got is not None:
                self.last_column_width = m * b
                return got
            if k == len(self.levels) - 1:
                break
            k += 1
        self.last_column_width = m * b
        idx, mn, mx = self.levels[k].window(first, last)
        if not len(idx):
            empty = np.empty(0)
            return empty, empty, empty
        cols, cmn, cmx = group(idx // m, mn, mx)
        return (cols + 0.5) * (m * b), cmn, cmx
